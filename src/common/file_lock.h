// flock(2) with the outcomes Cadenza's callers distinguish (write_file_atomic in file_io.h, OutputLock).
#pragma once

namespace cadenza {

// flock(fd, LOCK_EX), waiting for the lock or not. kBusy: another open file holds it (only when not waiting);
// kUnsupported: the file system has no flock (ENOLCK, EOPNOTSUPP, ENOSYS), so nothing is locked and callers carry
// on unlocked rather than fail (write_file_atomic then does not keep concurrent writers of one target apart, though
// each still renames a whole file). Throws IoError on any other failure. The kernel drops the lock when the file is
// closed, which includes the death of the process, SIGKILL too. Defined in file_io.cpp.
enum class LockResult { kLocked, kBusy, kUnsupported };
LockResult lock_exclusive(int fd, bool wait);

}  // namespace cadenza
