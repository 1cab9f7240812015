#pragma once

namespace substrate::app {

// Parses the command line and runs the chosen subcommand. Exit status: 0 on success, 1 when the
// command failed, 2 for a usage or configuration error.
int run_cli(int argc, char** argv, char** environment);

}  // namespace substrate::app
