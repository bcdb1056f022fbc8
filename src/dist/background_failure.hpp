// A rank whose peer dies can see the failure first in one of libtorch's own
// background threads: in 1.13 the TCPStore client's callback thread lets a
// std::system_error ("Connection reset by peer") escape when rank 0, which hosts
// the store, is killed, and the process aborts with "terminate called after
// throwing ...", naming nobody. This turns any exception that escapes a thread of
// a distributed rank into the same error the collectives give: which rank this
// is, which one is lost (rank 0 when its store no longer accepts connections),
// and a non-zero exit.
#pragma once
#include <string>

namespace prealign {

// Installs the handler (std::set_terminate) for this rank. Idempotent.
void report_background_failures(int rank, const std::string& store_host, int store_port);

// True when a TCP connection to host:port is accepted within `timeout_ms`
// (plain sockets, usable from a terminate handler).
bool tcp_port_answers(const std::string& host, int port, int timeout_ms);

}  // namespace prealign
