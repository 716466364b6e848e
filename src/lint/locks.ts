/**
 * Which table locks a statement takes, as PostgreSQL documents them (the "Explicit Locking"
 * chapter and each command's page). Rules use this to say which lock a statement holds, and the
 * context uses it to know when an ACCESS EXCLUSIVE lock is already held in a transaction.
 * Locks are held until the end of the transaction, not the end of the statement.
 */
import type { AlterTableCmd, RangeVar } from "libpg-query";
import {
  alterCommands,
  columnConstraints,
  names,
  nodeAs,
  nodesAs,
  optionEnabled,
  qualifiedName,
  relationName,
} from "./ast.js";
import type { Statement } from "./statement.js";

/** The table lock modes, weakest first. */
export const LOCK_MODES = [
  "ACCESS SHARE",
  "ROW SHARE",
  "ROW EXCLUSIVE",
  "SHARE UPDATE EXCLUSIVE",
  "SHARE",
  "SHARE ROW EXCLUSIVE",
  "EXCLUSIVE",
  "ACCESS EXCLUSIVE",
] as const;

export type LockMode = (typeof LOCK_MODES)[number];

export interface Lock {
  mode: LockMode;
  /** The relation locked ("users", "audit.users"); for DROP INDEX the index, whose table is locked too. */
  relation: string;
}

export function lockRank(mode: LockMode): number {
  return LOCK_MODES.indexOf(mode);
}

/** SHARE and stronger block INSERT, UPDATE and DELETE; ACCESS EXCLUSIVE blocks SELECT too. */
export function blocksWrites(mode: LockMode): boolean {
  return lockRank(mode) >= lockRank("SHARE");
}

export function describeLock(lock: Lock): string {
  return `${lock.mode} on ${lock.relation}`;
}

/** The locks a statement takes, the strongest per relation. */
export function locksTaken(statement: Statement, pgVersion: number): Lock[] {
  const found: Lock[] = [];
  const add = (mode: LockMode, relation: string) => {
    const existing = found.find((l) => l.relation === relation);
    if (existing === undefined) found.push({ mode, relation });
    else if (lockRank(mode) > lockRank(existing.mode)) existing.mode = mode;
  };
  const node = statement.node;
  switch (statement.kind) {
    case "AlterTableStmt": {
      const { relation, commands } = alterCommands(node);
      for (const command of commands) alterTableLocks(command, relationName(relation), pgVersion, add);
      break;
    }
    case "IndexStmt": {
      const index = nodeAs(node, "IndexStmt");
      add(index?.concurrent ? "SHARE UPDATE EXCLUSIVE" : "SHARE", relationName(index?.relation));
      break;
    }
    case "DropStmt": {
      const drop = nodeAs(node, "DropStmt");
      const type = drop?.removeType;
      for (const object of nodesAs(drop?.objects, "List")) {
        const parts = names(object.items);
        if (type === "OBJECT_INDEX")
          add(drop?.concurrent ? "SHARE UPDATE EXCLUSIVE" : "ACCESS EXCLUSIVE", qualifiedName(parts));
        else if (type === "OBJECT_TABLE" || type === "OBJECT_VIEW" || type === "OBJECT_MATVIEW")
          add("ACCESS EXCLUSIVE", qualifiedName(parts));
        // DROP TRIGGER / RULE / POLICY name ON table: the table is every part but the last.
        else if (type === "OBJECT_TRIGGER" || type === "OBJECT_RULE" || type === "OBJECT_POLICY")
          add("ACCESS EXCLUSIVE", qualifiedName(parts.slice(0, -1)));
      }
      break;
    }
    case "RenameStmt": {
      const rename = nodeAs(node, "RenameStmt");
      if (rename?.relation === undefined) break;
      // Renaming an index takes only SHARE UPDATE EXCLUSIVE since PostgreSQL 12.
      const light = rename.renameType === "OBJECT_INDEX" && pgVersion >= 12;
      add(light ? "SHARE UPDATE EXCLUSIVE" : "ACCESS EXCLUSIVE", relationName(rename.relation));
      break;
    }
    case "TruncateStmt":
      for (const relation of nodesAs(nodeAs(node, "TruncateStmt")?.relations, "RangeVar"))
        add("ACCESS EXCLUSIVE", relationName(relation));
      break;
    case "LockStmt": {
      const lock = nodeAs(node, "LockStmt");
      // LOCK TABLE's mode is PostgreSQL's LOCKMODE number: 1 (ACCESS SHARE) .. 8 (ACCESS EXCLUSIVE).
      const mode = LOCK_MODES[(lock?.mode ?? 8) - 1] ?? "ACCESS EXCLUSIVE";
      for (const relation of nodesAs(lock?.relations, "RangeVar")) add(mode, relationName(relation));
      break;
    }
    case "ReindexStmt": {
      const reindex = nodeAs(node, "ReindexStmt");
      const concurrently = optionEnabled(reindex?.params, "concurrently");
      const onIndex = reindex?.kind === "REINDEX_OBJECT_INDEX";
      if (reindex?.relation !== undefined)
        add(
          concurrently ? "SHARE UPDATE EXCLUSIVE" : onIndex ? "ACCESS EXCLUSIVE" : "SHARE",
          relationName(reindex.relation),
        );
      break;
    }
    case "VacuumStmt": {
      const vacuum = nodeAs(node, "VacuumStmt");
      const full = optionEnabled(vacuum?.options, "full");
      const mode = full ? "ACCESS EXCLUSIVE" : "SHARE UPDATE EXCLUSIVE";
      for (const target of nodesAs(vacuum?.rels, "VacuumRelation")) add(mode, relationName(target.relation));
      break;
    }
    case "ClusterStmt": {
      const cluster = nodeAs(node, "ClusterStmt");
      if (cluster?.relation !== undefined) add("ACCESS EXCLUSIVE", relationName(cluster.relation));
      break;
    }
    case "RefreshMatViewStmt": {
      const refresh = nodeAs(node, "RefreshMatViewStmt");
      add(refresh?.concurrent ? "EXCLUSIVE" : "ACCESS EXCLUSIVE", relationName(refresh?.relation));
      break;
    }
    case "CreateTrigStmt":
      add("SHARE ROW EXCLUSIVE", relationName(nodeAs(node, "CreateTrigStmt")?.relation));
      break;
    case "RuleStmt":
      add("ACCESS EXCLUSIVE", relationName(nodeAs(node, "RuleStmt")?.relation));
      break;
    case "CreateStmt": {
      const create = nodeAs(node, "CreateStmt");
      // The new table is invisible to others; the tables it references or attaches to are not.
      for (const parent of create?.partbound === undefined ? [] : nodesAs(create.inhRelations, "RangeVar"))
        add("ACCESS EXCLUSIVE", relationName(parent));
      for (const element of create?.tableElts ?? []) {
        const column = nodeAs(element, "ColumnDef");
        for (const constraint of column ? columnConstraints(column) : nodesAs([element], "Constraint"))
          if (constraint.contype === "CONSTR_FOREIGN") add("SHARE ROW EXCLUSIVE", relationName(constraint.pktable));
      }
      break;
    }
    case "InsertStmt":
    case "UpdateStmt":
    case "DeleteStmt":
    case "MergeStmt": {
      const dml = nodeAs(node, statement.kind);
      const relation = (dml as { relation?: RangeVar } | undefined)?.relation;
      if (relation !== undefined) add("ROW EXCLUSIVE", relationName(relation));
      break;
    }
  }
  return found;
}

function alterTableLocks(
  command: AlterTableCmd,
  table: string,
  pgVersion: number,
  add: (mode: LockMode, relation: string) => void,
): void {
  const constraint = nodeAs(command.def, "Constraint");
  const partition = nodeAs(command.def, "PartitionCmd");
  switch (command.subtype) {
    case "AT_SetStatistics":
    case "AT_SetOptions":
    case "AT_ResetOptions":
    case "AT_ClusterOn":
    case "AT_DropCluster":
    case "AT_SetRelOptions":
    case "AT_ResetRelOptions":
    case "AT_ValidateConstraint":
    case "AT_DetachPartitionFinalize":
      add("SHARE UPDATE EXCLUSIVE", table);
      return;
    case "AT_EnableTrig":
    case "AT_EnableAlwaysTrig":
    case "AT_EnableReplicaTrig":
    case "AT_DisableTrig":
    case "AT_EnableTrigAll":
    case "AT_DisableTrigAll":
    case "AT_EnableTrigUser":
    case "AT_DisableTrigUser":
      add("SHARE ROW EXCLUSIVE", table);
      return;
    case "AT_AddConstraint":
      if (constraint?.contype === "CONSTR_FOREIGN") {
        add("SHARE ROW EXCLUSIVE", table);
        add("SHARE ROW EXCLUSIVE", relationName(constraint.pktable));
      } else add("ACCESS EXCLUSIVE", table);
      return;
    case "AT_AddColumn":
      add("ACCESS EXCLUSIVE", table);
      for (const c of columnConstraints(nodeAs(command.def, "ColumnDef")))
        if (c.contype === "CONSTR_FOREIGN") add("SHARE ROW EXCLUSIVE", relationName(c.pktable));
      return;
    case "AT_AttachPartition":
      // Since PostgreSQL 12 attaching locks the parent lightly; the partition is always locked.
      add(pgVersion >= 12 ? "SHARE UPDATE EXCLUSIVE" : "ACCESS EXCLUSIVE", table);
      if (partition?.name !== undefined) add("ACCESS EXCLUSIVE", relationName(partition.name));
      return;
    case "AT_DetachPartition": {
      const mode = partition?.concurrent ? "SHARE UPDATE EXCLUSIVE" : "ACCESS EXCLUSIVE";
      add(mode, table);
      if (partition?.name !== undefined) add(mode, relationName(partition.name));
      return;
    }
    default:
      add("ACCESS EXCLUSIVE", table);
  }
}
