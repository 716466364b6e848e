/** What a route returns once it has written its answer itself (a deploy's events, logs, a one-off's output). */
export const STREAMED = Symbol("streamed");
