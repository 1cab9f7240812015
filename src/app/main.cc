// The `substrate` executable: everything lives in the libraries; see app/cli.cc.
#include <cstdio>
#include <exception>

#include "app/cli.h"

extern char** environ;

int main(int argc, char** argv) {
  try {
    return substrate::app::run_cli(argc, argv, environ);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "substrate: %s\n", e.what());
    return 1;
  }
}
