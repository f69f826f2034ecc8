#include "adapters/postgres/pg_error.h"

#include <pqxx/except>

namespace cfgit::pg {
namespace {

// "ERROR:  duplicate key ...\nDETAIL:  Key (id)=(1) ...\n" -> "duplicate key ...; Key (id)=(1) ..."
std::string OneLine(std::string message) {
  for (const char* prefix : {"ERROR:  ", "FATAL:  "}) {
    if (message.rfind(prefix, 0) == 0) message.erase(0, std::string(prefix).size());
  }
  std::string out;
  for (size_t i = 0; i < message.size(); ++i) {
    char c = message[i];
    if (c != '\n') {
      out.push_back(c == '\t' ? ' ' : c);
      continue;
    }
    while (i + 1 < message.size() && (message[i + 1] == '\n' || message[i + 1] == '\t')) ++i;
    if (i + 1 < message.size()) out += "; ";
  }
  for (const char* label : {"DETAIL:  ", "HINT:  ", "CONTEXT:  "}) {
    for (size_t p = out.find(label); p != std::string::npos; p = out.find(label)) {
      out.erase(p, std::string(label).size());
    }
  }
  return out;
}

}  // namespace

Status CurrentExceptionStatus(const std::string& what) {
  try {
    throw;
  } catch (const pqxx::sql_error& e) {
    const std::string& state = e.sqlstate();
    return Status::Database(what + ": " + OneLine(e.what()) +
                            (state.empty() ? "" : " (SQLSTATE " + state + ")"));
  } catch (const pqxx::in_doubt_error& e) {
    return Status::Database(what +
                            ": the connection was lost while committing, so whether the "
                            "transaction was committed is unknown; check the database: " +
                            OneLine(e.what()));
  } catch (const pqxx::broken_connection& e) {
    // Raised both when connecting fails and when an open connection is lost.
    return Status::Database(what + ": no connection to the server: " + OneLine(e.what()));
  } catch (const std::exception& e) {
    return Status::Database(what + ": " + OneLine(e.what()));
  } catch (...) {
    return Status::Database(what + ": unknown error");
  }
}

}  // namespace cfgit::pg
