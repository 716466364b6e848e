import type { Node, ObjectWithArgs } from "libpg-query";
import { formatType, names, nodeAs, nodesAs, qualifiedName, sqlType } from "../ast.js";
import type { Finding, Rule } from "../rule.js";
import { contractLater } from "../safe-sql.js";
import type { Statement } from "../statement.js";

const ROUTINES: Record<string, string> = {
  OBJECT_FUNCTION: "function",
  OBJECT_PROCEDURE: "procedure",
  OBJECT_ROUTINE: "routine",
  OBJECT_AGGREGATE: "aggregate",
};

/** A routine as DROP and ALTER name it: f, or f(int4, text[]) with the argument types. */
interface Signature {
  name: string;
  /** undefined when written without parentheses (the name alone is then unique). */
  args: string[] | undefined;
}

export const dropFunction: Rule = {
  id: "drop-function",
  group: "compat",
  severity: "error",
  summary: "DROP, RENAME or SET SCHEMA of a function or procedure the running release may still call",
  check(statement, context) {
    const node = statement.node;
    const drop = nodeAs(node, "DropStmt");
    const rename = nodeAs(node, "RenameStmt");
    const move = nodeAs(node, "AlterObjectSchemaStmt");
    let kind: string | undefined;
    let targets: ObjectWithArgs[] = [];
    let change: (shown: string) => string;
    let cascade = "";
    if (drop !== undefined) {
      kind = ROUTINES[drop.removeType ?? ""];
      targets = nodesAs(drop.objects, "ObjectWithArgs");
      if (drop.behavior === "DROP_CASCADE")
        cascade = "; CASCADE also drops the triggers, defaults and views that use it";
      change = (shown) => `dropping ${kind} ${shown}`;
    } else if (rename !== undefined) {
      kind = ROUTINES[rename.renameType ?? ""];
      targets = nodesAs(rename.object === undefined ? [] : [rename.object], "ObjectWithArgs");
      change = (shown) => `renaming ${kind} ${shown} to ${rename.newname ?? "?"}`;
    } else if (move !== undefined) {
      kind = ROUTINES[move.objectType ?? ""];
      targets = nodesAs(move.object === undefined ? [] : [move.object], "ObjectWithArgs");
      change = (shown) => `moving ${kind} ${shown} to schema ${move.newschema ?? "?"}`;
    } else return [];
    if (kind === undefined) return [];
    const findings: Finding[] = [];
    for (const target of targets) {
      const signature: Signature = {
        name: qualifiedName(names(target.objname)),
        args: target.args_unspecified ? undefined : (target.objargs ?? []).map(typeText),
      };
      if (createdInFile(context.history, context.file, signature)) continue;
      const shown = signature.args === undefined ? signature.name : `${signature.name}(${signature.args.join(", ")})`;
      const call = kind === "procedure" ? `CALL ${signature.name}(...)` : `${signature.name}(...)`;
      const missing = `${kind === "procedure" ? "procedure" : "function"} ${signature.name}(...) does not exist`;
      findings.push({
        message: `${change(shown)} breaks the running release if it still calls it: every ${call} fails with "${missing}", also from inside function bodies (PostgreSQL does not track those)${cascade}`,
        safe: [
          "To change a signature or a return type, add the new version next to the old one, under a new name",
          `or as an overload (CREATE ${kind === "procedure" ? "PROCEDURE" : "FUNCTION"} ${signature.name}_v2(...) ...), and deploy the release that calls it.`,
          "(CREATE OR REPLACE with the same arguments and return type changes only the body, with no gap.)",
          contractLater(`${kind} ${shown}`, `DROP ${kind.toUpperCase()} ${shown};`),
        ].join("\n"),
      });
    }
    return findings;
  },
};

function typeText(node: Node): string {
  const type = sqlType(nodeAs(node, "TypeName"));
  return type === undefined ? "?" : formatType({ ...type, mods: [] });
}

/** A plain CREATE (not OR REPLACE) of this routine earlier in the file: nothing running calls it yet. */
function createdInFile(history: readonly Statement[], file: string, target: Signature): boolean {
  return history.some((s) => {
    const create = nodeAs(s.node, "CreateFunctionStmt");
    if (s.file !== file || create === undefined || create.replace === true) return false;
    if (qualifiedName(names(create.funcname)) !== target.name) return false;
    if (target.args === undefined) return true;
    const inputs = nodesAs(create.parameters, "FunctionParameter")
      .filter((p) => p.mode !== "FUNC_PARAM_OUT" && p.mode !== "FUNC_PARAM_TABLE")
      .map((p) => (p.argType === undefined ? "?" : typeText({ TypeName: p.argType })));
    return inputs.join(",") === target.args.join(",");
  });
}
