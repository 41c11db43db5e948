// `cadenza serve` as a user starts it: from any working directory, with no option but a free port, it offers the
// bundled models and the page, prints its address, and stops cleanly on SIGTERM; bad options are clear errors.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "support/test_support.h"

namespace cadenza {
namespace {

// A plain HTTP/1.1 GET on 127.0.0.1: (status, body).
std::pair<int, std::string> http_get(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return {-1, "cannot connect"};
  }
  const std::string request =
      "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\nConnection: close\r\n\r\n";
  (void)::write(fd, request.data(), request.size());
  std::string response;
  char buffer[65536];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) response.append(buffer, static_cast<size_t>(n));
  ::close(fd);
  const size_t header_end = response.find("\r\n\r\n");
  if (response.size() < 12 || header_end == std::string::npos) return {-1, response};
  return {std::stoi(response.substr(9, 3)), response.substr(header_end + 4)};
}

// `cadenza serve ARGS` started in `cwd`, its output read until it prints its address.
class ServeProcess {
 public:
  ServeProcess(const std::string& cwd, const std::vector<std::string>& args) {
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::dup2(out[1], STDERR_FILENO);
      ::close(out[0]);
      if (::chdir(cwd.c_str()) != 0) _exit(127);
      std::vector<char*> argv = {const_cast<char*>(CADENZA_BINARY), const_cast<char*>("serve")};
      for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
      argv.push_back(nullptr);
      ::execv(CADENZA_BINARY, argv.data());
      _exit(127);
    }
    ::close(out[1]);
    fd_ = out[0];
  }
  ~ServeProcess() {
    if (pid_ > 0 && !waited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) ::close(fd_);
  }

  // Reads output until `pattern` matches (returning the match) or the process ends / 180 s pass ("").
  std::string wait_for(const std::regex& pattern) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(180);
    std::smatch match;
    while (!std::regex_search(output_, match, pattern)) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return "";
      pollfd poll_fd{fd_, POLLIN, 0};
      if (::poll(&poll_fd, 1, static_cast<int>(left.count())) <= 0) return "";
      char buffer[4096];
      const ssize_t n = ::read(fd_, buffer, sizeof buffer);
      if (n <= 0) return "";
      output_.append(buffer, static_cast<size_t>(n));
    }
    return match[1];
  }

  // SIGTERM, then the exit status (-1 when it did not exit normally within 60 s).
  int terminate() {
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 600; ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        waited_ = true;
        char buffer[4096];
        for (ssize_t n; (n = ::read(fd_, buffer, sizeof buffer)) > 0;) output_.append(buffer, static_cast<size_t>(n));
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      ::usleep(100000);
    }
    return -1;
  }
  const std::string& output() const { return output_; }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  bool waited_ = false;
  std::string output_;
};

TEST(CliServe, FromAnyDirectoryItServesTheBundledModelsAndThePage) {
  testing::TempDir elsewhere;
  ServeProcess serve(elsewhere.path().string(), {"--port", "0"});
  const std::string port_text = serve.wait_for(std::regex(R"(Cadenza Studio: http://127\.0\.0\.1:(\d+)/)"));
  ASSERT_FALSE(port_text.empty()) << serve.output();
  const int port = std::stoi(port_text);

  const auto [models_status, models_body] = http_get(port, "/api/models");
  ASSERT_EQ(models_status, 200) << models_body;
  const auto models = nlohmann::json::parse(models_body)["models"];
  std::vector<std::string> ids;
  for (const auto& model : models) {
    ids.push_back(model["id"]);
    EXPECT_TRUE(model["loaded"].get<bool>()) << model.dump();
  }
  for (const char* name : {"nottingham-lstm", "nottingham-transformer", "nottingham-vae", "nottingham-gan"})
    EXPECT_NE(std::find(ids.begin(), ids.end(), name), ids.end()) << name << " is not offered";
  const auto [page_status, page] = http_get(port, "/");
  EXPECT_EQ(page_status, 200);
  EXPECT_NE(page.find("Cadenza Studio"), std::string::npos);
  EXPECT_EQ(http_get(port, "/js/main.js").first, 200);
  if (std::filesystem::exists(std::string(CADENZA_SOURCE_DIR) + "/web/node_modules/spessasynth_lib")) {
    EXPECT_EQ(http_get(port, "/vendor/spessasynth_lib.js").first, 200);
  }
  EXPECT_EQ(serve.terminate(), 0) << serve.output();
  EXPECT_NE(serve.output().find("stopping"), std::string::npos) << serve.output();
}

TEST(CliServe, BadOptionsAreClearErrors) {
  // A port that is taken.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const std::string port = std::to_string(ntohs(address.sin_port));
  EXPECT_CLI_ERROR(testing::run_cadenza("serve --model nottingham-lstm --port " + port),
                   {"cannot listen on 127.0.0.1:" + port, "--port"});
  ::close(fd);
  EXPECT_CLI_ERROR(testing::run_cadenza("serve --runs /no/such/folder"), {"--runs /no/such/folder", "no such folder"});
  EXPECT_CLI_ERROR(testing::run_cadenza("serve --model no-such-model"), {"no-such-model", "nottingham-lstm"});
  EXPECT_CLI_ERROR(testing::run_cadenza("serve --checkpoint /no/model.safetensors"), {"/no/model.safetensors"});
}

}  // namespace
}  // namespace cadenza
