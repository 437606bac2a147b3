// Numeric bounds (minimum, maximum, exclusiveMinimum, exclusiveMaximum) for the JSON automaton, exact.
// Every number the automaton can write is a multiple of 10^-S, S = 0 for integers and MAX_DIGITS for numbers
// (bounded numbers are written without an exponent), so values, bounds and the sets a prefix can still reach
// are all integers in those units: BigInt arithmetic, no rounding. A prefix is kept only if some completion
// lies inside the bounds, so a constrained reply can never walk into a dead end.

export interface NumBounds {
  /** Smallest and largest allowed value in units of 10^-scale (null: unbounded). */
  lo: bigint | null;
  hi: bigint | null;
  scale: number;
}

const pow10 = (k: number): bigint => 10n ** BigInt(k);

/** A finite JS number as an exact decimal m·10^e (from its shortest round-trip text, what the user wrote). */
function decimal(x: number): { m: bigint; e: number } {
  const [mant, exp = '0'] = x.toString().toLowerCase().split('e');
  const [ip, fp = ''] = mant.split('.');
  return { m: BigInt(ip + fp), e: Number(exp) - fp.length };
}

/** floor or ceil of x·10^scale. */
function scaled(x: number, scale: number, up: boolean): bigint {
  const { m, e } = decimal(x);
  const k = e + scale;
  if (k >= 0) return m * pow10(k);
  const d = pow10(-k);
  const q = m / d, r = m % d; // BigInt division truncates toward zero
  if (r === 0n) return q;
  return up ? (m > 0n ? q + 1n : q) : (m < 0n ? q - 1n : q);
}

/** The bounds of a schema node in units of 10^-scale; min/max inclusive, xmin/xmax exclusive. */
export function compileBounds(b: { min?: number; max?: number; xmin?: number; xmax?: number }, scale: number): NumBounds {
  let lo: bigint | null = null, hi: bigint | null = null;
  const raise = (v: bigint) => { if (lo === null || v > lo) lo = v; };
  const lower = (v: bigint) => { if (hi === null || v < hi) hi = v; };
  if (b.min !== undefined) raise(scaled(b.min, scale, true));
  if (b.xmin !== undefined) raise(scaled(b.xmin, scale, false) + 1n);
  if (b.max !== undefined) lower(scaled(b.max, scale, false));
  if (b.xmax !== undefined) lower(scaled(b.xmax, scale, true) - 1n);
  return { lo, hi, scale };
}

export const emptyBounds = (b: NumBounds): boolean => b.lo !== null && b.hi !== null && b.lo > b.hi;

/** The value of a complete number text ("-12.50") in units of 10^-scale. */
export function unitsOf(txt: string, scale: number): bigint {
  const neg = txt.startsWith('-');
  const [ip, fp = ''] = (neg ? txt.slice(1) : txt).split('.');
  const v = BigInt(ip || '0') * pow10(scale) + BigInt((fp + '0'.repeat(scale)).slice(0, scale) || '0');
  return neg ? -v : v;
}

export const within = (v: bigint, b: NumBounds): boolean => (b.lo === null || v >= b.lo) && (b.hi === null || v <= b.hi);

/**
 * True when some number that starts with `txt` (a prefix the number grammar accepts: "-", "0", "12", "3.", "3.14")
 * and has at most maxDigits digits in its integer and in its fraction part lies within the bounds.
 */
export function reachable(txt: string, b: NumBounds, maxDigits: number): boolean {
  const neg = txt.startsWith('-');
  const body = neg ? txt.slice(1) : txt;
  const unit = pow10(b.scale);
  // Magnitudes reachable from the prefix, as closed intervals in units.
  const mags: [bigint, bigint][] = [];
  const top = b.scale > 0 ? unit - 1n : 0n; // the largest fraction in units
  if (body === '') mags.push([0n, pow10(maxDigits) * unit - 1n]);
  else if (body.includes('.')) {
    const [ip, fp] = body.split('.');
    const x = unitsOf(`${ip}.${fp}`, b.scale);
    const free = b.scale - fp.length; // fraction digits still free, in units
    mags.push([x, x + (fp.length < maxDigits ? pow10(Math.max(free, 0)) - 1n : 0n)]);
  } else if (body === '0') mags.push([0n, top]);
  else {
    const v = BigInt(body);
    for (let k = 0; body.length + k <= maxDigits; k++) mags.push([v * pow10(k) * unit, (v + 1n) * pow10(k) * unit - 1n - (b.scale > 0 ? 0n : 0n)]);
  }
  for (const [a, c] of mags) {
    const [lo, hi] = neg ? [-c, -a] : [a, c];
    const L = b.lo !== null && b.lo > lo ? b.lo : lo, H = b.hi !== null && b.hi < hi ? b.hi : hi;
    if (L <= H) return true;
  }
  return false;
}
