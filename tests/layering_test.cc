// The folders are the architecture: each library's headers appear only in its module.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

namespace fs = std::filesystem;

TEST_CASE("library headers stay inside their modules", "[layering]") {
  struct Rule {
    std::regex include;
    std::string allowed_prefix;  // relative to the source root
  };
  const Rule rules[] = {
      {std::regex(R"(#include\s*[<"]git2)"), "store/"},
      {std::regex(R"(#include\s*[<"]pqxx)"), "adapters/postgres/"},
      {std::regex(R"(#include\s*[<"]sqlite3\.h)"), "adapters/sqlite/"},
      {std::regex(R"(#include\s*[<"]yaml-cpp)"), "store/"},
      {std::regex(R"(#include\s*[<"]CLI/)"), "cmd/"},
  };
  const fs::path root = CFGIT_SOURCE_DIR;
  int files = 0;
  for (const char* module : {"store", "diff", "merge", "adapters", "cmd"}) {
    for (const auto& entry : fs::recursive_directory_iterator(root / module)) {
      if (!entry.is_regular_file()) continue;
      std::string rel = fs::relative(entry.path(), root).string();
      std::ifstream in(entry.path());
      std::string line;
      ++files;
      while (std::getline(in, line)) {
        for (const Rule& r : rules) {
          if (std::regex_search(line, r.include)) {
            INFO(rel << ": " << line);
            CHECK(rel.rfind(r.allowed_prefix, 0) == 0);
          }
        }
      }
    }
  }
  CHECK(files > 10);
}

TEST_CASE("merge/ is pure: it includes no store internals and does no I/O", "[layering]") {
  const fs::path root = CFGIT_SOURCE_DIR;
  for (const auto& entry : fs::recursive_directory_iterator(root / "merge")) {
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      INFO(entry.path().string() << ": " << line);
      CHECK(line.find("#include \"store/store.h\"") == std::string::npos);
      CHECK(line.find("<fstream>") == std::string::npos);
      CHECK(line.find("adapters/") == std::string::npos);
    }
  }
}
