// The tensor-work side of the threading policy (docs/threading.md): matrix products run on N OpenBLAS threads,
// ATen's own intra-op and inter-op pools stay at one thread so the two never fight over the cores.
#pragma once

#include <string>

namespace cadenza::models {

// Sets OpenBLAS to `threads` threads (when the BLAS in use is OpenBLAS; found at run time, since Debian's
// libtorch links whichever libblas.so.3 the system provides) and ATen to 1, and installs the caching CPU allocator
// (models/cpu_allocator.h: every command that runs tensor work comes through here first). Returns a one-line
// description, e.g. "OpenBLAS 2 threads, ATen 1 thread", or "reference BLAS (slow: install libopenblas0-pthread),
// ATen 1 thread".
std::string configure_tensor_threads(int threads);

}  // namespace cadenza::models
