// GSSAPI loaded on first use (store/gssapi.cc). Included only by store/*.cc (and the store's
// tests).
#pragma once

#include <string>

#include "store/status.h"

namespace cfgit {

// The library cfgit's GSSAPI functions go on to: MIT Kerberos' (Debian's libgssapi-krb5-2).
inline constexpr const char* kGssapiLibrary = "libgssapi_krb5.so.2";

// Opens `library` (a dlopen name); kInvalid naming it and the package to install when it cannot
// be opened. The GSSAPI functions open kGssapiLibrary so, once per process, at their first call.
Result<void*> OpenGssapi(const char* library);

}  // namespace cfgit
