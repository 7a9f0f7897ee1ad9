/**
 * Builds a WHERE clause for list endpoints with `$n` parameters: each condition marks its values
 * with `$?`, numbered in the order they are added.
 */
export class Conditions {
  readonly values: unknown[] = [];
  private readonly parts: string[] = [];

  /** Adds `sql`, whose `$?` marks stand for `values` in order. */
  add(sql: string, ...values: unknown[]): this {
    let index = 0;
    this.parts.push(sql.replace(/\$\?/g, () => this.param(values[index++])));
    return this;
  }

  /** Binds one more value and returns its `$n`. */
  param(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }

  /** `WHERE a AND b`, or nothing when no condition was added. */
  where(): string {
    return this.parts.length > 0 ? `WHERE ${this.parts.join(' AND ')}` : '';
  }
}
