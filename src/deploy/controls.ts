/**
 * What a person can ask of a running deploy while it moves traffic: promote a canary now, or abort
 * it (which is also what `baton rollback` does while the old release is on standby). The pipeline
 * checks `requested` between its waits and `wake` ends any wait at once, so a request takes effect
 * in milliseconds, not at the end of a bake.
 */
export type ControlRequest =
  | { kind: "promote"; by: string }
  | { kind: "abort"; by: string; reason: string; requestedAt: number };

export class DeployControls {
  requested: ControlRequest | null = null;
  /** `baton deploy:cancel` before the switch: the deploy stops before its next step. */
  cancel: { by: string } | null = null;
  /** Set by the pipeline while it is in a step that can act on a request. */
  accepting: ReadonlySet<ControlRequest["kind"]> = new Set();
  private wakers = new Set<() => void>();

  /** True when the request was taken (the running step can act on it). */
  request(request: ControlRequest): boolean {
    if (!this.accepting.has(request.kind)) return false;
    // An abort overrides a pending promote; a promote never overrides an abort.
    if (this.requested?.kind === "abort") return request.kind === "abort";
    this.requested = request;
    for (const wake of this.wakers) wake();
    return true;
  }

  /** Sleep up to `ms`, ending early when a request arrives. */
  sleep(ms: number): Promise<void> {
    if (this.requested !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }
}
