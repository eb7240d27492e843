// `npm run bench -- --jax`: the bench's standard step in jax-js (wasm device): 256 images × 2 views of 28×28×1, the
// benchmark ConvNet (3 × [conv3×3 → batch norm → ReLU], 2×2 max-pools, global average pool),
// head Dense(128)-ReLU-Dense(64), NT-Xent (τ = 0.5), Adam 1e-3. jit(valueAndGrad(loss)).
// jax-js owns arrays by reference count: every use but the last takes `.ref`.
import { init, defaultDevice, jit, valueAndGrad, numpy as np, lax, nn, random } from '@jax-js/jax';

// Usage: node tools/bench/jaxjs_step.mjs STEPS WARMUP HALF; prints one JSON line.
const [, , stepsArg = '7', warmupArg = '2', halfArg = '256'] = process.argv;
await init('wasm');
defaultDevice('wasm');
const HALF = Number(halfArg);
const N = 2 * HALF;

let key = random.key(0);
function normal(shape, std) {
  const [a, b] = random.split(key);
  key = a;
  return random.normal(b, shape).mul(std);
}
const conv = (cin, cout) => ({ w: normal([cout, cin, 3, 3], Math.sqrt(2 / (9 * cin))), g: np.ones([1, cout, 1, 1]), b: np.zeros([1, cout, 1, 1]) });
const params = {
  c1: conv(1, 32),
  c2: conv(32, 64),
  c3: conv(64, 128),
  d1: { w: normal([128, 128], Math.sqrt(2 / 128)), b: np.zeros([128]) },
  d2: { w: normal([128, 64], Math.sqrt(1 / 128)), b: np.zeros([64]) },
};

function block(x, p) {
  const y = lax.conv(x, p.w, [1, 1], 'SAME');
  const mu = np.mean(y.ref, [0, 2, 3], { keepdims: true });
  const c = y.sub(mu);
  const v = np.mean(np.square(c.ref), [0, 2, 3], { keepdims: true });
  return nn.relu(
    c
      .div(np.sqrt(v.add(1e-5)))
      .mul(p.g)
      .add(p.b),
  );
}
function pool(x) {
  const [n, c, h, w] = x.shape;
  return np.max(x.reshape([n, c, h / 2, 2, w / 2, 2]), [3, 5]);
}
// Row i's positive is row (i + HALF) mod N; the diagonal is masked out.
const target = np.array(Float32Array.from({ length: N * N }, (_, k) => ((Math.floor(k / N) + HALF) % N === k % N ? 1 : 0))).reshape([N, N]);
const mask = np.eye(N).mul(1e9);

function loss(p, x, t, m) {
  let h = pool(block(x, p.c1));
  h = pool(block(h, p.c2));
  h = np.mean(block(h, p.c3), [2, 3]);
  const z = np.matmul(nn.relu(np.matmul(h, p.d1.w).add(p.d1.b)), p.d2.w).add(p.d2.b);
  const zn = z.ref.div(np.sqrt(np.sum(np.square(z), 1, { keepdims: true })).add(1e-12));
  const logits = np.matmul(zn.ref, np.transpose(zn)).div(0.5).sub(m);
  return np.mean(np.sum(nn.logSoftmax(logits, 1).mul(t), 1)).mul(-1);
}
const step = jit(valueAndGrad(loss));

// [layer, field] of every parameter, in a fixed order.
const paths = Object.entries(params).flatMap(([k, v]) => Object.keys(v).map((j) => [k, j]));
const m1 = new Map(paths.map(([a, b]) => [`${a}.${b}`, np.zerosLike(params[a][b].ref)]));
const m2 = new Map(paths.map(([a, b]) => [`${a}.${b}`, np.zerosLike(params[a][b].ref)]));
let t = 0;
const views = random.uniform(random.key(3), [N, 1, 28, 28]);
async function trainStep() {
  const [value, grads] = step(paramRefs(), views.ref, target.ref, mask.ref);
  t++;
  const c1 = 1 - 0.9 ** t;
  const c2 = 1 - 0.999 ** t;
  for (const [a, b] of paths) {
    const k = `${a}.${b}`;
    const g = grads[a][b];
    const n1 = m1.get(k).mul(0.9).add(g.ref.mul(0.1));
    const n2 = m2.get(k).mul(0.999).add(np.square(g).mul(0.001));
    params[a][b] = params[a][b].sub(
      n1.ref
        .div(c1)
        .mul(1e-3)
        .div(np.sqrt(n2.ref.div(c2)).add(1e-8)),
    );
    m1.set(k, n1);
    m2.set(k, n2);
  }
  // jax-js is lazy: read every parameter back so the timed step includes the whole update.
  for (const [a, b] of paths) await params[a][b].ref.data();
  return value.data();
}
function paramRefs() {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).map(([j, a]) => [j, a.ref]))]));
}
const steps = Number(stepsArg);
const warmup = Number(warmupArg);
const losses = [];
for (let i = 0; i < warmup; i++) losses.push((await trainStep())[0]);
const times = [];
for (let i = 0; i < steps; i++) {
  const t0 = performance.now();
  losses.push((await trainStep())[0]);
  times.push((performance.now() - t0) / 1000);
}
const med = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)];
console.log(JSON.stringify({ backend: 'jax-js-0.1.25-wasm', trainImagesPerSec: N / med, losses, peakRssMB: process.memoryUsage().rss / 2 ** 20 }));
