import type { Registry } from "prom-client";

type Labels = Record<string, string>;
interface Value {
  labels: Labels;
  value: number;
  metricName: string;
}

/**
 * A metric whose values are counted elsewhere (the router process keeps its own counts) and
 * copied in at each scrape: prom-client's Counter and Histogram only count in this process, so
 * this hands the registry the values as they are, in prom-client's own metric shape.
 */
export class ScrapedMetric {
  private values: Value[] = [];

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "gauge" | "histogram",
  ) {
    // The registry needs only name, help, type and get(); the cast is to its Metric class.
    registry.registerMetric(this as unknown as Parameters<Registry["registerMetric"]>[0]);
  }

  /** Forget the last scrape's values (an app or Release that is gone stops being reported). */
  reset(): void {
    this.values = [];
  }

  set(labels: Labels, value: number): void {
    this.values.push({ labels, value, metricName: this.name });
  }

  /**
   * A histogram's series from cumulative counts per upper bound (seconds; the last is +Inf), its
   * sum and count.
   */
  setHistogram(labels: Labels, bounds: readonly number[], cumulative: readonly number[], sum: number): void {
    bounds.forEach((bound, i) => {
      this.values.push({
        labels: { ...labels, le: bound === Infinity ? "+Inf" : String(bound) },
        value: cumulative[i] ?? 0,
        metricName: `${this.name}_bucket`,
      });
    });
    this.values.push({ labels, value: sum, metricName: `${this.name}_sum` });
    this.values.push({ labels, value: cumulative[cumulative.length - 1] ?? 0, metricName: `${this.name}_count` });
  }

  /** What prom-client's registry reads from a metric: its type is the text format's word. */
  get(): { name: string; help: string; type: string; values: Value[]; aggregator: "sum" } {
    return { name: this.name, help: this.help, type: this.type, values: this.values, aggregator: "sum" };
  }
}
