/** Random unit vectors: rows and queries for the benchmarks, uniform over the sphere's directions closely enough. */
export function randomUnit(dim = 512): number[] {
  const v = new Array<number>(dim);
  let sum = 0;
  for (let i = 0; i < dim; i++) {
    const x = Math.random() - 0.5;
    v[i] = x;
    sum += x * x;
  }
  const n = Math.sqrt(sum);
  for (let i = 0; i < dim; i++) v[i] = v[i]! / n;
  return v;
}
