// Remotes: what a URL looks like in messages (credentials never shown).
#include "store/remote.h"

#include <catch2/catch.hpp>

namespace {

TEST_CASE("remote URLs lose their credentials in messages", "[remote]") {
  struct Case {
    const char* name;
    const char* url;
    const char* shown;
  };
  const Case cases[] = {
      {"https user and password", "https://bob:s3cret@git.example.com/team/config.git",
       "https://***@git.example.com/team/config.git"},
      {"https token as user", "https://ghp_abc123@github.com/o/r.git",
       "https://***@github.com/o/r.git"},
      {"https ${VAR}s", "https://${GIT_USER}:${GIT_TOKEN}@h/r.git", "https://***@h/r.git"},
      {"http with port", "http://u:p@127.0.0.1:8080/r", "http://***@127.0.0.1:8080/r"},
      {"password with @", "https://u:p@ss@h/r.git", "https://***@h/r.git"},
      {"ssh user kept", "ssh://git@h:2222/r.git", "ssh://git@h:2222/r.git"},
      {"ssh password hidden", "ssh://git:pw@h/r.git", "ssh://git:***@h/r.git"},
      {"no credentials", "https://h/r.git", "https://h/r.git"},
      {"git daemon", "git://127.0.0.1:9418/team.git", "git://127.0.0.1:9418/team.git"},
      {"scp-like", "git@github.com:o/r.git", "git@github.com:o/r.git"},
      {"local path", "/srv/git/team.git", "/srv/git/team.git"},
      {"@ in the path only", "https://h/users/@me/r.git", "https://h/users/@me/r.git"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    CHECK(cfgit::RedactRemoteUrl(c.url) == c.shown);
  }
}

}  // namespace
