// Types of charts.js for the TypeScript tests (the page itself runs the plain JS).
export function niceMax(value: number): number;
export function barChart(options: {
  bars: { label: string; value: number; title?: string; tone?: string; parts?: { value: number; tone?: string }[] }[];
  format?: (value: number) => string;
  title: string;
  emptyText?: string;
}): SVGSVGElement;
