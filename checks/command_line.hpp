// The toolkit's command line as a function, so that another program can register entries of
// its own (registry.hpp) next to the built-in ones and run the same verbs, options, output and
// exit statuses.
#pragma once

namespace attnbounds {

// Parses argv against the registry and runs the chosen entry.  Returns the exit status:
// 0 holds / ok, 1 fails (verified counterexample), 2 bad input, 3 undecided, 4 internal error.
int run_command_line(int argc, char** argv);

}  // namespace attnbounds
