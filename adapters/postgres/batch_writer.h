// The write side of the PostgreSQL adapter: one ChangeBatch applied inside the adapter's open
// write transaction (Adapter::Write).
//
// Order of work: tables to create are created (columns, primary key, unique constraints and
// indexes); every value is checked against its target column (cross-dialect rules, pg_types.h);
// then deletes (children first), updates and inserts (parents first), foreign keys of the new
// tables, and finally every serial/identity sequence of a written table is raised to the
// largest value in it. A table's changes of one kind over kBulkRows rows go through a temporary
// table filled by COPY and one set-based statement; smaller ones through prepared statements.
#pragma once

#include <pqxx/connection_base>
#include <pqxx/transaction_base>

#include "adapters/adapter.h"
#include "adapters/postgres/catalog.h"

namespace cfgit::pg {

constexpr size_t kBulkRows = 1000;

// Refused values and batches that do not fit the database (a table to create that exists, a
// column the table lacks) are kInvalid, found before any row is written; failures of the server
// are thrown as pqxx exceptions. Either way the caller rolls the transaction back.
// `statement_serial` numbers the prepared statements of the connection.
Status WriteBatch(pqxx::connection_base& conn, pqxx::transaction_base& tx, const Catalog& catalog,
                  const ChangeBatch& batch, int* statement_serial);

}  // namespace cfgit::pg
