// Explicit registration of `reproduce` and `regress`, the harness that drives the command line
// through subprocesses.  The attnbounds executable calls register_reproduce_commands().
#pragma once

namespace attnbounds {

void register_reproduce_command();
void register_regress_command();
// Both of the above; a second call does nothing.
void register_reproduce_commands();

}  // namespace attnbounds
