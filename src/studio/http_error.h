// A refusal of the studio's HTTP API: an HTTP status and a message. Route handlers throw it; the server answers
// {"error": {"status": S, "message": M}} with that status (src/studio/server.cpp). Other cadenza::Error from below
// (a sample request the model refuses, a malformed MIDI upload) become 400 or 422 there.
#pragma once

#include <string>

#include "common/error.h"

namespace cadenza::studio {

class HttpError : public Error {
 public:
  HttpError(int status, const std::string& message) : Error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

}  // namespace cadenza::studio
