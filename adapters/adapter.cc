#include "adapters/adapter.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "adapters/postgres/connection_string.h"
#include "adapters/postgres/module.h"
#include "adapters/sqlite/sqlite_adapter.h"

namespace cfgit {

Result<std::unique_ptr<Adapter>> Adapter::Open(const std::string& url, const OpenOptions& options) {
  if (url.rfind("sqlite:", 0) == 0) return OpenSqlite(url.substr(7), options);
  if (pg::IsPostgresUrl(url)) {
    Result<const PostgresModule*> postgres = LoadPostgresModule();
    if (!postgres.ok()) {
      return postgres.status().Wrap("environment '" + options.environment + "': ");
    }
    return (*postgres)->open(url, options);
  }
  return Status::Invalid("environment '" + options.environment + "': unknown database URL '" +
                         RedactUrl(url) +
                         "'; expected sqlite:PATH, postgresql://USER@HOST[:PORT]/DB or "
                         "'host=... dbname=...'");
}

Status ForEachRow(RowReader& reader, const std::function<Status(const Row&)>& each) {
  return ForEachRow(reader, nullptr,
                    [&each](const Row& row, const PreparedRow&) { return each(row); });
}

Status ForEachRow(RowReader& reader,
                  const std::function<void(std::span<const Row>, PreparedRow*)>& prepare,
                  const std::function<Status(const Row&, const PreparedRow&)>& each) {
  constexpr size_t kBatchRows = 1024, kBatchesAhead = 8;
  struct Batch {
    std::vector<Row> rows;
    std::vector<PreparedRow> prepared;
    size_t size = 0;
  };
  std::mutex mu;
  std::condition_variable changed;
  std::deque<Batch> full;    // read, waiting for `each`
  std::vector<Batch> spare;  // done with: rows (and their buffers) reused
  bool reading = true, stop = false;
  Status read_status = Status::Ok();

  std::thread ahead([&] {
    while (true) {
      Batch batch;
      {
        std::unique_lock lock(mu);
        changed.wait(lock, [&] { return stop || full.size() < kBatchesAhead; });
        if (stop) break;
        if (!spare.empty()) {
          batch = std::move(spare.back());
          spare.pop_back();
        }
      }
      batch.rows.resize(kBatchRows);
      batch.prepared.resize(kBatchRows);
      batch.size = 0;
      bool more = true;
      while (more && batch.size < kBatchRows) {
        Result<bool> next = reader.Next(&batch.rows[batch.size]);
        if (!next.ok()) {
          std::lock_guard lock(mu);
          read_status = next.status();
          more = false;
          break;
        }
        more = *next;
        if (more) ++batch.size;
      }
      if (prepare && batch.size) {
        prepare(std::span<const Row>(batch.rows.data(), batch.size), batch.prepared.data());
      }
      std::lock_guard lock(mu);
      if (batch.size) full.push_back(std::move(batch));
      if (!more) break;
      changed.notify_all();
    }
    std::lock_guard lock(mu);
    reading = false;
    changed.notify_all();
  });

  Status status = Status::Ok();
  while (status.ok()) {
    Batch batch;
    {
      std::unique_lock lock(mu);
      changed.wait(lock, [&] { return !full.empty() || !reading; });
      if (full.empty()) break;  // and the reader has ended
      batch = std::move(full.front());
      full.pop_front();
      changed.notify_all();
    }
    for (size_t i = 0; i < batch.size && status.ok(); ++i) {
      status = each(batch.rows[i], batch.prepared[i]);
    }
    std::lock_guard lock(mu);
    spare.push_back(std::move(batch));
  }
  {
    std::lock_guard lock(mu);
    stop = true;
    changed.notify_all();
  }
  ahead.join();
  if (!status.ok()) return status;
  return read_status;
}

Status ForEachInsert(const TableBatch& t, const std::function<Status(const Row&)>& each) {
  for (const Row& row : t.inserts) CFGIT_RETURN_IF_ERROR(each(row));
  if (t.stream) return t.stream(each);
  return Status::Ok();
}

}  // namespace cfgit
