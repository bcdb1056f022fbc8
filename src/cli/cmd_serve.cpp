// prealign serve: a checkpoint behind an OpenAI-compatible HTTP API, decoding
// under its policy with per-token temptation (src/serve/server.hpp).
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <functional>
#include <thread>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/shipped.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/progress.hpp"
#include "serve/server.hpp"

namespace prealign {

namespace {
volatile std::sig_atomic_t g_signals = 0;
int g_wake[2] = {-1, -1};  // self-pipe: the signal handler's message to the stopping thread

// The first SIGINT/SIGTERM stops accepting and lets requests in flight finish
// (up to --shutdown-deadline, then they are cancelled); a second one exits at
// once (a stuck client must not make the server unkillable short of SIGKILL).
// Stopping takes locks, which a signal handler must not: it only writes a
// byte, and a thread of ours does the rest.
void on_signal(int sig) {
  if (g_signals++ > 0) {
    static const char msg[] = "prealign serve: second signal, exiting now\n";
    [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    ::_exit(128 + sig);
  }
  static const char msg[] = "prealign serve: stopping (finishing requests in flight; signal again to exit now)\n";
  [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, msg, sizeof msg - 1);
  const char stop = 's';
  n = ::write(g_wake[1], &stop, 1);
}

// Waits on the self-pipe: 's' stops the server, 'q' ends the thread.
void stop_on_signal(Server& server) {
  for (;;) {
    char c = 0;
    const ssize_t n = ::read(g_wake[0], &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n != 1 || c == 'q') return;
    server.stop();
  }
}
}  // namespace

void register_serve_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve",
                                 "serve a checkpoint over an OpenAI-compatible HTTP API (/v1/completions, "
                                 "/v1/chat/completions, /v1/models, /health, /metrics) with temptation per token");
  auto options = std::make_shared<ServeOptions>();
  add_options(*cmd, *options);
  accept_shipped(*cmd, "--policy", ShippedKind::policy, {"none"});
  cmd->get_option("--api-key")->envname("PREALIGN_API_KEY");
  // The name before continuous batching, when it meant choices of one request decoded together.
  cmd->add_option("--batch-size", options->max_batch, "deprecated: --max-batch")->group("");
  cmd->callback([options] {
    json shown = config_to_json(*options);
    if (!options->api_key.empty()) shown["api_key"] = "(set, not shown)";  // keys never reach a log
    note("serve: options " + shown.dump());
    Server server(*options);
    const int port = server.bind();
    if (::pipe(g_wake) != 0) fail("serve", "cannot create a pipe for signal handling");
    std::thread stopper(stop_on_signal, std::ref(server));
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::printf("prealign serve: listening on http://%s:%d/ (Ctrl-C to stop)\n", options->host.c_str(), port);
    std::fflush(stdout);
    server.run();  // returns after stop(), once requests in flight are answered or cancelled
    const char quit = 'q';
    [[maybe_unused]] ssize_t n = ::write(g_wake[1], &quit, 1);
    stopper.join();
    note("serve: stopped");
  });
}

}  // namespace prealign
