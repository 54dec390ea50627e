/** What each section hands to the report writer. */

export type Verdict = 'met' | 'missed' | 'not measured';

/** One goal of the issue, the figure measured against it, and (when missed) why in one line. */
export interface GoalRow {
  goal: string;
  measured: string;
  verdict: Verdict;
  why?: string;
}

export interface Table {
  caption?: string;
  header: string[];
  rows: string[][];
}

export interface SectionReport {
  title: string;
  /** What was measured and how, as short paragraphs. */
  method: string[];
  goals: GoalRow[];
  tables: Table[];
  notes: string[];
}

export const verdict = (met: boolean): Verdict => (met ? 'met' : 'missed');

/** A number with at most `digits` decimals, thousands kept readable. */
export function num(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export const pct = (ratio: number) => (Number.isFinite(ratio) ? `${(ratio * 100).toFixed(0)}%` : 'n/a');
