// A small client of the studio's HTTP API for the route and load tests and the studio benchmark: JSON requests and
// job streams (server-sent events) read event by event, with the option to leave mid-stream.
#pragma once

#include <httplib.h>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cadenza::testing {

struct SseEvent {
  std::string type;
  nlohmann::json data;
  double seconds = 0;  // since the request was sent
};

struct StreamResult {
  int status = 0;
  std::string content_type;
  std::vector<SseEvent> events;
  nlohmann::json error;  // the JSON body of a refusal (status != 200)
  bool left = false;     // the reader stopped reading before the end

  const SseEvent* last() const { return events.empty() ? nullptr : &events.back(); }
  std::vector<const SseEvent*> of_type(const std::string& type) const {
    std::vector<const SseEvent*> found;
    for (const SseEvent& event : events)
      if (event.type == type) found.push_back(&event);
    return found;
  }
};

class StudioClient {
 public:
  explicit StudioClient(int port, std::string host = "127.0.0.1") : port_(port), client_(host, port) {
    client_.set_read_timeout(300);
    client_.set_write_timeout(60);
    client_.set_connection_timeout(30);
  }

  httplib::Client& raw() { return client_; }
  int port() const { return port_; }

  // GET returning (status, parsed body or the raw text as a JSON string).
  std::pair<int, nlohmann::json> get_json(const std::string& path, const httplib::Headers& headers = {}) {
    auto result = client_.Get(path.c_str(), headers);
    if (!result) return {-1, nlohmann::json(httplib::to_string(result.error()))};
    return {result->status, parse(result->body)};
  }
  std::pair<int, nlohmann::json> post_json(const std::string& path, const nlohmann::json& body,
                                           const httplib::Headers& headers = {}) {
    return post_raw(path, body.dump(), "application/json", headers);
  }
  std::pair<int, nlohmann::json> post_raw(const std::string& path, const std::string& body,
                                          const std::string& content_type, const httplib::Headers& headers = {}) {
    auto result = client_.Post(path.c_str(), headers, body, content_type.c_str());
    if (!result) return {-1, nlohmann::json(httplib::to_string(result.error()))};
    return {result->status, parse(result->body)};
  }
  httplib::Result get(const std::string& path, const httplib::Headers& headers = {}) {
    return client_.Get(path.c_str(), headers);
  }

  // POSTs a job and reads its event stream. `on_event` sees each event as it arrives; returning false leaves
  // (closes the connection), as a browser tab that is closed.
  StreamResult stream(const std::string& path, const nlohmann::json& body,
                      const std::function<bool(const SseEvent&)>& on_event = nullptr,
                      const httplib::Headers& headers = {}) {
    StreamResult out;
    std::string buffer, error_body;
    const auto start = std::chrono::steady_clock::now();
    httplib::Request req;
    req.method = "POST";
    req.path = path;
    req.headers = headers;
    req.headers.emplace("Accept", "text/event-stream");
    req.body = body.dump();
    req.set_header("Content-Type", "application/json");
    req.response_handler = [&](const httplib::Response& res) {
      out.status = res.status;
      out.content_type = res.get_header_value("Content-Type");
      return true;
    };
    req.content_receiver = [&](const char* data, size_t size, uint64_t, uint64_t) {
      if (out.status != 200) {
        error_body.append(data, size);
        return true;
      }
      buffer.append(data, size);
      for (size_t end; (end = buffer.find("\n\n")) != std::string::npos;) {
        const std::string block = buffer.substr(0, end);
        buffer.erase(0, end + 2);
        SseEvent event;
        size_t at = 0;
        while (at < block.size()) {
          size_t line_end = block.find('\n', at);
          if (line_end == std::string::npos) line_end = block.size();
          const std::string line = block.substr(at, line_end - at);
          if (line.rfind("event: ", 0) == 0) event.type = line.substr(7);
          if (line.rfind("data: ", 0) == 0) event.data = parse(line.substr(6));
          at = line_end + 1;
        }
        if (event.type.empty()) continue;  // a keep-alive comment
        event.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        out.events.push_back(event);
        if (on_event && !on_event(out.events.back())) {
          out.left = true;
          return false;
        }
      }
      return true;
    };
    auto result = client_.send(req);
    if (!result && !out.left && out.status == 0) out.status = -1;
    if (out.status != 200 && !error_body.empty()) out.error = parse(error_body);
    return out;
  }

  static nlohmann::json parse(const std::string& text) {
    auto parsed = nlohmann::json::parse(text, nullptr, false);
    return parsed.is_discarded() ? nlohmann::json(text) : parsed;
  }

 private:
  int port_;
  httplib::Client client_;
};

}  // namespace cadenza::testing
