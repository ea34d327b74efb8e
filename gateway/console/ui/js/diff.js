// lineDiff compares two texts line by line (longest common subsequence) and
// returns [{op: ' ' | '+' | '-', line}].
export function lineDiff(a, b) {
  const x = a.split('\n'), y = b.split('\n');
  const n = x.length, m = y.length;
  if (n * m > 4e6) { // too large for the table: show both wholesale
    return [...x.map((line) => ({ op: '-', line })), ...y.map((line) => ({ op: '+', line }))];
  }
  const L = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      L[i][j] = x[i] === y[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
    }
  }
  const out = [];
  let i = 0, j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) { out.push({ op: ' ', line: x[i] }); i++; j++; }
    else if (L[i + 1][j] >= L[i][j + 1]) out.push({ op: '-', line: x[i++] });
    else out.push({ op: '+', line: y[j++] });
  }
  while (i < n) out.push({ op: '-', line: x[i++] });
  while (j < m) out.push({ op: '+', line: y[j++] });
  return out;
}

// withContext keeps changed lines and `ctx` lines around them.
export function withContext(d, ctx = 3) {
  const keep = new Array(d.length).fill(false);
  d.forEach((e, i) => {
    if (e.op !== ' ') for (let k = Math.max(0, i - ctx); k <= Math.min(d.length - 1, i + ctx); k++) keep[k] = true;
  });
  const out = [];
  let skipped = false;
  d.forEach((e, i) => {
    if (keep[i]) { out.push(e); skipped = false; } else if (!skipped) { out.push({ op: '…', line: '' }); skipped = true; }
  });
  return out;
}
