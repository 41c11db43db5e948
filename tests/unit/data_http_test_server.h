// A tiny HTTP/1.1 server on 127.0.0.1 (ephemeral port) for download tests: no network needed, and it can also
// misbehave on purpose (redirects, bodies shorter than their Content-Length). One connection at a time, each
// answered with "Connection: close"; unknown paths get 404.
// Used by test_data_fetch.cpp and tests/cli/test_cli_dataset_fetch.cpp.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

namespace cadenza::testing {

class TestHttpServer {
 public:
  TestHttpServer() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) throw std::runtime_error("socket() failed");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof address;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listen_fd_, 16) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      ::close(listen_fd_);
      throw std::runtime_error("cannot listen on 127.0.0.1");
    }
    port_ = ntohs(address.sin_port);
    if (::pipe2(wake_, O_CLOEXEC) != 0) throw std::runtime_error("pipe2() failed");
    thread_ = std::thread([this] { serve(); });
  }

  ~TestHttpServer() {
    char byte = 0;
    (void)!::write(wake_[1], &byte, 1);
    thread_.join();
    ::close(listen_fd_);
    ::close(wake_[0]);
    ::close(wake_[1]);
  }

  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  void add(const std::string& path, std::string body) { set(path, {200, std::move(body), "", 0}); }
  void add_redirect(const std::string& path, const std::string& location) { set(path, {302, "", location, 0}); }
  // Declares declared_length bytes but sends only the body and closes the connection.
  void add_truncated(const std::string& path, std::string body, size_t declared_length) {
    set(path, {200, std::move(body), "", declared_length});
  }

  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  int port() const { return port_; }
  int hits(const std::string& path) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = hits_.find(path);
    return it == hits_.end() ? 0 : it->second;
  }

 private:
  struct Route {
    int status = 200;
    std::string body;
    std::string location;
    size_t declared_length = 0;  // 0: the body's real length
  };

  void set(const std::string& path, Route route) {
    std::lock_guard<std::mutex> lock(mutex_);
    routes_[path] = std::move(route);
  }

  void serve() {
    while (true) {
      pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) continue;
      if (fds[1].revents != 0) return;
      int connection = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (connection < 0) continue;
      answer(connection);
      ::close(connection);
    }
  }

  void answer(int connection) {
    timeval timeout{5, 0};
    ::setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    std::string request;
    char buffer[4096];
    while (request.find("\r\n\r\n") == std::string::npos && request.size() < 65536) {
      ssize_t n = ::recv(connection, buffer, sizeof buffer, 0);
      if (n <= 0) return;
      request.append(buffer, static_cast<size_t>(n));
    }
    size_t first_space = request.find(' ');
    size_t second_space = request.find(' ', first_space + 1);
    if (first_space == std::string::npos || second_space == std::string::npos) return;
    std::string path = request.substr(first_space + 1, second_space - first_space - 1);

    Route route{404, "not found\n", "", 0};
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++hits_[path];
      if (auto it = routes_.find(path); it != routes_.end()) route = it->second;
    }
    const char* reason = route.status == 200 ? "OK" : route.status == 302 ? "Found" : "Not Found";
    size_t length = route.declared_length != 0 ? route.declared_length : route.body.size();
    std::string response = "HTTP/1.1 " + std::to_string(route.status) + " " + reason + "\r\n" +
                           "Content-Length: " + std::to_string(length) + "\r\n" +
                           "Content-Type: application/octet-stream\r\nConnection: close\r\n";
    if (!route.location.empty()) response += "Location: " + route.location + "\r\n";
    response += "\r\n" + route.body;
    for (size_t done = 0; done < response.size();) {
      ssize_t n = ::send(connection, response.data() + done, response.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return;
      done += static_cast<size_t>(n);
    }
    ::shutdown(connection, SHUT_WR);
  }

  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::map<std::string, Route> routes_;
  std::map<std::string, int> hits_;
};

}  // namespace cadenza::testing
