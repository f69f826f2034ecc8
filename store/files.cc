// TempBeside, ReplaceFile and WriteFileAtomically (see internal/files.h).
#include "store/internal/files.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>

namespace cfgit {

std::string TempBeside(const std::string& path) {
  static std::atomic<unsigned> made{0};
  return path + ".tmp" + std::to_string(::getpid()) + "-" + std::to_string(made++);
}

Status ReplaceFile(const std::string& path, const std::function<bool(std::FILE*)>& write) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  const std::string tmp = TempBeside(path);
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  bool ok = f != nullptr && write(f);
  if (f != nullptr) ok = std::fclose(f) == 0 && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Status::Invalid("cannot write " + path);
  }
  return Status::Ok();
}

Status WriteFileAtomically(const std::string& path, std::string_view bytes) {
  return ReplaceFile(path, [bytes](std::FILE* f) {
    return std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  });
}

}  // namespace cfgit
