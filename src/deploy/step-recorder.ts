import { appendFileSync } from "node:fs";
import { BatonError } from "../core/errors.js";
import type { StepRecord, Store } from "../store/store.js";
import type { CommandProcess } from "../supervisor/command.js";
import type { EventLog } from "./events.js";

export interface StepOutcome {
  status?: "succeeded" | "skipped";
  details?: Record<string, unknown>;
}

/** Thrown by a step to fail with its output kept. */
export interface StepContext {
  /** Append command output: stored with the step, written to the deploy log, streamed live. */
  output(chunk: string): void;
  /**
   * A command the step started (build, release command, hook): recorded with the deploy until the
   * step ends, so a control plane killed under it lets the next one stop it (recovery.ts).
   */
  spawned?(command: CommandProcess): void;
}

/** Where a deploy's details name the command its running step started (see StepContext.spawned). */
export const RUNNING_COMMAND = "runningCommand";

/** What `details.runningCommand` holds. */
export interface RunningCommand extends CommandProcess {
  step: string;
}

/**
 * Runs the steps of one deploy and records each (status, timings, output) in the store before
 * and after it runs, so a crash leaves a record of exactly where the deploy was.
 */
export class StepRecorder {
  constructor(
    private readonly store: Store,
    private readonly events: EventLog,
    private readonly app: string,
    private readonly deployId: number,
    private readonly logPath: string,
    /** Called before each step starts: throws to stop the deploy there (a cancel). */
    private readonly beforeStep: (name: string) => void = () => {},
  ) {}

  async run(
    name: string,
    fn: (ctx: StepContext) => Promise<StepOutcome | undefined>,
  ): Promise<Record<string, unknown>> {
    this.beforeStep(name);
    // One transaction per step boundary: the phase, the step row and its event land together (or
    // not at all) with one commit, and so one fsync, instead of three. A deploy crosses about 15
    // boundaries, several in the tens of milliseconds after the switch, when the new instances
    // meet their first users on the same cores. The event is persisted inside, not emitted: a full
    // disk fails the whole boundary as BATON_DISK_FULL (swallowing it, as emit() does, would only
    // leave a failed COMMIT with a less helpful error), and listeners hear of it once committed.
    const [step, started] = this.store.transaction(() => {
      this.store.updateDeploy(this.deployId, { phase: name });
      const record = this.store.startStep(this.deployId, name);
      const event = this.events.persist(this.app, this.deployId, "deploy.step.started", name, { step: name });
      return [record, event] as const;
    });
    this.events.publish(started);
    this.say(`-----> ${name}`);
    let output = "";
    let spawned = false;
    const ctx: StepContext = {
      output: (chunk) => {
        output += chunk;
        this.write(chunk);
        this.events.emitLive(this.app, this.deployId, "deploy.output", chunk, { step: name });
      },
      spawned: (command) => {
        spawned = true;
        this.recordCommand({ step: name, ...command });
      },
    };
    try {
      const outcome = (await fn(ctx)) ?? {};
      const [done, finished] = this.store.transaction(() => {
        const record = this.store.finishStep(this.deployId, step.seq, {
          status: outcome.status ?? "succeeded",
          output,
          details: outcome.details ?? {},
        });
        const ms = (record.finishedAt ?? Date.now()) - record.startedAt;
        const event = this.events.persist(
          this.app,
          this.deployId,
          "deploy.step.finished",
          `${name} ${record.status} in ${ms} ms`,
          { step: name, status: record.status, ms, details: record.details },
        );
        return [record, event] as const;
      });
      this.events.publish(finished);
      return done.details;
    } catch (error) {
      const failure =
        error instanceof BatonError
          ? error
          : new BatonError("BATON_DEPLOY_FAILED", String((error as Error)?.message ?? error), { cause: error });
      let done: StepRecord;
      try {
        done = this.store.finishStep(this.deployId, step.seq, {
          status: "failed",
          output,
          details: { code: failure.code, message: failure.message, ...failure.details },
        });
      } catch {
        // The store cannot take the record (a full disk): the step's own failure is what the user
        // must see, not the failure to record it.
        throw failure;
      }
      this.events.emit(this.app, this.deployId, "deploy.step.finished", `${name} failed: ${failure.message}`, {
        step: name,
        status: "failed",
        ms: (done.finishedAt ?? Date.now()) - done.startedAt,
        code: failure.code,
      });
      throw failure;
    } finally {
      if (spawned) this.forgetCommand();
    }
  }

  /**
   * The step's command has ended. A store that cannot take this (a full disk) must not replace
   * the step's own outcome: the record left behind is harmless, since recovery stops a recorded
   * command only when its pid still has the recorded start time.
   */
  private forgetCommand(): void {
    try {
      this.recordCommand(null);
    } catch {
      // Kept as said above.
    }
  }

  /** Read back before writing: the pipeline writes other details of the same deploy. */
  private recordCommand(command: RunningCommand | null): void {
    const details = { ...this.store.getDeploy(this.deployId)?.details };
    if (command === null) delete details[RUNNING_COMMAND];
    else details[RUNNING_COMMAND] = command;
    this.store.updateDeploy(this.deployId, { details });
  }

  /** A step that does not apply to this deploy, recorded so every deploy shows the same steps. */
  skip(name: string, reason: string): void {
    const skipped = this.store.transaction(() => {
      const step = this.store.startStep(this.deployId, name);
      this.store.finishStep(this.deployId, step.seq, { status: "skipped", details: { reason } });
      return this.events.persist(this.app, this.deployId, "deploy.step.finished", `${name} skipped: ${reason}`, {
        step: name,
        status: "skipped",
        ms: 0,
      });
    });
    this.events.publish(skipped);
  }

  say(line: string): void {
    this.write(`${line}\n`);
  }

  private write(text: string): void {
    try {
      appendFileSync(this.logPath, text, { mode: 0o600 });
    } catch {
      // The deploy log is a convenience copy; the store keeps the output that matters.
    }
  }
}
