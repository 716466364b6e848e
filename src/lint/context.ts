/**
 * What a rule knows about the moment its statement runs: the transaction around it, the locks
 * that transaction already holds, whether a lock_timeout is set, which tables are new. A
 * FileWalk builds one Context per statement, walking the file in order.
 */
import { names, nodeAs, nodesAs, qualifiedName, relationName } from "./ast.js";
import { type Lock, locksTaken } from "./locks.js";
import type { LintOptions } from "./options.js";
import type { Statement } from "./statement.js";

export interface Transaction {
  /**
   * The statement that opened it: a BEGIN, a DO block (which runs as one transaction), a
   * statement that calls a function (its body runs inside that statement's transaction), or
   * undefined for the transaction the migration tool wraps the whole file in.
   */
  begin: Statement | undefined;
  /** Statements run earlier in this transaction, in order. */
  statements: readonly Statement[];
  /** Locks taken earlier in this transaction; PostgreSQL holds them until it ends. */
  locks: readonly Lock[];
}

export interface Context {
  readonly options: Readonly<LintOptions>;
  readonly file: string;
  /** The transaction the statement runs in; undefined when it runs on its own (autocommit). */
  readonly transaction: Transaction | undefined;
  /** Whether a non-zero lock_timeout is in effect when the statement runs. */
  readonly lockTimeout: boolean;
  /**
   * Every statement before this one in the lint run: earlier files first (including files only
   * read as already applied), then this file's. Rules read it for what the schema looks like.
   */
  readonly history: readonly Statement[];
  /**
   * Whether the table was created earlier in this same file. Nothing running uses it yet and it
   * holds no rows, so lock and compat rules leave statements on it alone.
   */
  isNewTable(name: string): boolean;
  /** The locks this statement takes (see locks.ts). */
  locks(statement: Statement): Lock[];
}

interface OpenTransaction {
  begin: Statement | undefined;
  statements: Statement[];
  locks: Lock[];
  /**
   * Opened by a statement for what it runs (a DO block, a function call) in autocommit: it ends
   * with that statement, at the next statement that it does not run.
   */
  implicit: boolean;
  /** SET LOCAL lock_timeout inside this transaction, if any. */
  localLockTimeout: boolean | undefined;
  /** The session's lock_timeout when it began: a ROLLBACK undoes a SET made inside. */
  sessionLockTimeoutAtBegin: boolean;
}

export class FileWalk {
  readonly #options: Readonly<LintOptions>;
  readonly #file: string;
  readonly #history: Statement[];
  readonly #newTables = new Set<string>();
  #transaction: OpenTransaction | undefined;
  #sessionLockTimeout: boolean;

  /** history: the statements of the files before this one; the walk appends this file's. */
  constructor(file: string, options: Readonly<LintOptions>, history: Statement[]) {
    this.#file = file;
    this.#options = options;
    this.#history = history;
    this.#sessionLockTimeout = options.lockTimeout;
    if (options.transaction) this.#transaction = this.#open(undefined);
  }

  /** The context of the next statement, valid until advance(statement). */
  context(statement: Statement): Context {
    this.#enterImplicit(statement);
    const open = this.#transaction;
    const newTables = this.#newTables;
    const pgVersion = this.#options.pgVersion;
    // No copies: rules run before advance(), so these views cannot change under them.
    return {
      options: this.#options,
      file: this.#file,
      transaction: open && { begin: open.begin, statements: open.statements, locks: open.locks },
      lockTimeout: open?.localLockTimeout ?? this.#sessionLockTimeout,
      history: this.#history,
      isNewTable: (name) => newTables.has(name),
      locks: (s) => locksTaken(s, pgVersion),
    };
  }

  /** Records what the statement changed: transaction, settings, new tables. */
  advance(statement: Statement): void {
    this.#history.push(statement);
    const transactionStmt = nodeAs(statement.node, "TransactionStmt");
    if (transactionStmt !== undefined) {
      this.#transactionControl(statement, transactionStmt.kind, transactionStmt.chain === true);
      return;
    }
    if (this.#transaction !== undefined) {
      this.#transaction.statements.push(statement);
      this.#transaction.locks.push(...locksTaken(statement, this.#options.pgVersion));
    }
    this.#trackLockTimeout(statement);
    this.#trackTables(statement);
  }

  #open(begin: Statement | undefined, implicit = false): OpenTransaction {
    return {
      begin,
      implicit,
      statements: [],
      locks: [],
      localLockTimeout: undefined,
      sessionLockTimeoutAtBegin: this.#sessionLockTimeout,
    };
  }

  /**
   * A DO block runs as one transaction even in autocommit, and so does a statement that calls a
   * function: the statements they run (those with a `parent`) share it.
   */
  #enterImplicit(statement: Statement): void {
    const current = this.#transaction;
    if (current?.implicit && statement.parent !== current.begin) this.#transaction = undefined;
    if (statement.parent !== undefined && this.#transaction === undefined) {
      this.#transaction = this.#open(statement.parent, true);
    }
  }

  #transactionControl(statement: Statement, kind: string | undefined, chain: boolean): void {
    switch (kind) {
      case "TRANS_STMT_BEGIN":
      case "TRANS_STMT_START":
        // A BEGIN inside a transaction only draws a warning from PostgreSQL: nothing changes.
        this.#transaction ??= this.#open(statement);
        return;
      case "TRANS_STMT_ROLLBACK":
        if (this.#transaction !== undefined) this.#sessionLockTimeout = this.#transaction.sessionLockTimeoutAtBegin;
        this.#transaction = chain ? this.#open(statement) : undefined;
        return;
      case "TRANS_STMT_COMMIT":
      case "TRANS_STMT_PREPARE":
        this.#transaction = chain ? this.#open(statement) : undefined;
        return;
    }
  }

  #trackLockTimeout(statement: Statement): void {
    const set = nodeAs(statement.node, "VariableSetStmt");
    if (set === undefined) return;
    if (set.kind === "VAR_RESET_ALL") {
      this.#sessionLockTimeout = false;
      return;
    }
    if (set.name !== "lock_timeout") return;
    const value = set.kind === "VAR_SET_VALUE" && !isZeroDuration(set.args?.[0]);
    if (!set.is_local) this.#sessionLockTimeout = value;
    // SET LOCAL outside a transaction has no effect (PostgreSQL only warns).
    else if (this.#transaction !== undefined) this.#transaction.localLockTimeout = value;
  }

  #trackTables(statement: Statement): void {
    const node = statement.node;
    const created = nodeAs(node, "CreateStmt")?.relation ?? nodeAs(node, "CreateTableAsStmt")?.into?.rel;
    if (created !== undefined) this.#newTables.add(relationName(created));
    const rename = nodeAs(node, "RenameStmt");
    if (rename?.renameType === "OBJECT_TABLE" && this.#newTables.delete(relationName(rename.relation))) {
      const schema = rename.relation?.schemaname;
      this.#newTables.add(
        qualifiedName(schema === undefined ? [rename.newname ?? ""] : [schema, rename.newname ?? ""]),
      );
    }
    const drop = nodeAs(node, "DropStmt");
    if (drop?.removeType === "OBJECT_TABLE")
      for (const object of nodesAs(drop.objects, "List")) this.#newTables.delete(qualifiedName(names(object.items)));
  }
}

/** lock_timeout = 0 (or '0', '0ms', '0s') disables the timeout. */
function isZeroDuration(node: Parameters<typeof nodeAs>[0]): boolean {
  const constant = nodeAs(node, "A_Const");
  if (constant === undefined) return false;
  if (constant.ival !== undefined) return (constant.ival.ival ?? 0) === 0;
  const text = constant.sval?.sval ?? constant.fval?.fval;
  return text !== undefined && /^\s*0*(\.0*)?\s*[a-z]*\s*$/i.test(text);
}
