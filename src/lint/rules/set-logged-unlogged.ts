import { alterCommands, relationName } from "../ast.js";
import type { Finding, Rule } from "../rule.js";

export const setLoggedUnlogged: Rule = {
  id: "set-logged-unlogged",
  group: "lock",
  severity: "error",
  summary: "SET LOGGED / SET UNLOGGED rewrites the whole table (SET LOGGED also writes all of it to the WAL)",
  check(statement, context) {
    const { relation, commands } = alterCommands(statement.node);
    const table = relationName(relation);
    if (context.isNewTable(table)) return [];
    const findings: Finding[] = [];
    for (const command of commands) {
      if (command.subtype !== "AT_SetLogged" && command.subtype !== "AT_SetUnLogged") continue;
      const logged = command.subtype === "AT_SetLogged";
      findings.push({
        message: logged
          ? `SET LOGGED copies all of ${table} into a new file and writes every row to the WAL (which replicas then replay), while reads and writes of ${table} wait`
          : `SET UNLOGGED copies all of ${table} into a new file while reads and writes of ${table} wait; afterwards ${table} is emptied after a crash and is not replicated`,
        lock: `ACCESS EXCLUSIVE on ${table} for the whole rewrite: reads and writes wait`,
        safe: [
          "There is no online form. Create the table with the persistence you want from the start, or move to",
          "a new one by expand/contract: create it, have the code write both, backfill in batches, switch",
          "the reads in a later release and drop the old table in postdeploy.",
          `  CREATE ${logged ? "" : "UNLOGGED "}TABLE ${table}_new (LIKE ${table} INCLUDING ALL);`,
          "For a small table, a short lock may be acceptable: SET lock_timeout first and suppress this",
          "finding with a reason (-- baton:allow set-logged-unlogged <reason>).",
        ].join("\n"),
      });
    }
    return findings;
  },
};
