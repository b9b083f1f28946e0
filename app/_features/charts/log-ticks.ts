/** Which ticks of a chart axis carry a label. */

function isNiceLogTick(value: number): boolean {
  if (!(value > 0)) return false;
  const mantissa = value / 10 ** Math.floor(Math.log10(value) + 1e-9);
  return [1, 2, 5].some((nice) => Math.abs(mantissa - nice) < 1e-6);
}

/**
 * Log axes get a tick per 1-9 multiple of each decade; labelling all of them overprints. Over many
 * decades, label the 1, 2, 5 ones; over a few (fewer than four of those in view), every tick up to
 * a dozen, else 1, 2, 3, 5; so an axis spanning 0.04 to 0.2 reads 0.04, 0.05, ... 0.2, not only
 * 0.05 and 0.1.
 */
export function tickLabel(format: (value: number) => string, log: boolean) {
  return (value: number | string, index: number, ticks: { value: number }[]) => {
    const number = Number(value);
    if (!log) return format(number);
    const nice = ticks.filter((tick) => isNiceLogTick(tick.value)).length;
    if (nice >= 4) return isNiceLogTick(number) ? format(number) : "";
    if (ticks.length <= 12) return format(number);
    if (nice >= 2) return isNiceLogTick(number) || isLogTickOf(number, 3) ? format(number) : "";
    const every = Math.max(1, Math.ceil(ticks.length / 6));
    return index % every === 0 || index === ticks.length - 1 ? format(number) : "";
  };
}

function isLogTickOf(value: number, multiple: number): boolean {
  if (!(value > 0)) return false;
  const mantissa = value / 10 ** Math.floor(Math.log10(value) + 1e-9);
  return Math.abs(mantissa - multiple) < 1e-6;
}
