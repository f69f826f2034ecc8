#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cstdlib>

int main(int argc, char* argv[]) {
  // The test programs are not beside the PostgreSQL adapter's module: they are told where this
  // build's is, whatever the environment said (the cfgit they run finds it beside itself:
  // support.cc's Cfgit clears this).
  ::setenv("CFGIT_POSTGRES_MODULE", CFGIT_POSTGRES_MODULE, 1);
  return Catch::Session().run(argc, argv);
}
