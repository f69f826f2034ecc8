// The one place where pqxx exceptions become a Status (STYLE.md: one function per library).
//
// Code that talks to the server through pqxx may throw; every Adapter entry point runs it
// inside Guard, so no exception crosses the adapter API.
#pragma once

#include <string>
#include <utility>

#include "store/status.h"

namespace cfgit::pg {

// Call only from inside a catch block: the exception in flight as a kDatabase Status whose
// message is `what` and the server's message, with its SQLSTATE when the server gave one.
Status CurrentExceptionStatus(const std::string& what);

// Runs `f` (returning Status or Result<T>) and turns any exception it throws into a Status.
template <typename F>
auto Guard(const std::string& what, F&& f) -> decltype(f()) {
  try {
    return std::forward<F>(f)();
  } catch (...) {
    return CurrentExceptionStatus(what);
  }
}

}  // namespace cfgit::pg
