// The terminate handler a distributed rank installs: an exception escaping a
// background thread (libtorch's TCPStore callback thread does this when rank 0
// is killed) must end the rank with an error naming the lost rank, not abort.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <system_error>
#include <thread>

#include "dist/background_failure.hpp"

namespace prealign {
namespace {

// A listening socket on an ephemeral loopback port; closed on destruction.
struct Listener {
  int fd = -1, port = 0;
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd, 4), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~Listener() { if (fd >= 0) ::close(fd); }
};

int closed_port() {
  Listener l;
  return l.port;  // closed when l goes: nothing listens there any more
}

TEST(BackgroundFailure, TcpProbeTellsAListeningPortFromAClosedOne) {
  Listener l;
  EXPECT_TRUE(tcp_port_answers("127.0.0.1", l.port, 2000));
  EXPECT_FALSE(tcp_port_answers("127.0.0.1", closed_port(), 2000));
  EXPECT_FALSE(tcp_port_answers("no-such-host.invalid", 80, 500));
}

void throw_from_a_thread() {
  std::thread t([] { throw std::system_error(ECONNRESET, std::system_category()); });
  t.join();
}

TEST(BackgroundFailureDeathTest, AStoreThatIsGoneNamesRankZero) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const int port = closed_port();
  EXPECT_EXIT(
      {
        report_background_failures(1, "127.0.0.1", port);
        throw_from_a_thread();
      },
      ::testing::ExitedWithCode(1), "rank 1: lost rank 0 \\(its rendezvous store at 127.0.0.1:[0-9]+ is gone\\): .*reset");
}

TEST(BackgroundFailureDeathTest, AStoreThatAnswersBlamesNoRank) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Listener l;
  EXPECT_EXIT(
      {
        report_background_failures(0, "127.0.0.1", l.port);
        throw_from_a_thread();
      },
      ::testing::ExitedWithCode(1), "rank 0: a background thread failed \\(a peer may be lost\\): .*reset");
}

}  // namespace
}  // namespace prealign
