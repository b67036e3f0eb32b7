// Evaluates a GrowthBook payload for many user ids with the official
// JavaScript SDK (@growthbook/growthbook), for tests/js_sdk_parity.rs.
//
// Usage: node js_sdk_parity.mjs INPUT.json
//   INPUT: {"payload": {"features": {...}}, "features": ["key", ...], "ids": ["id", ...]}
// Prints: {"sdkVersion": "x.y.z", "results": [[[variationId, inExperiment, bucket|null], ...per feature], ...per id]}
// (an id with no experiment result gets null in place of the triple).
//
// Only the package's public API is used: `new GrowthBook({attributes, features})`
// and `evalFeature`, so the hash, bucket ranges, namespaces and variation choice
// are all the SDK's own.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { GrowthBook } from "@growthbook/growthbook";

const require = createRequire(import.meta.url);
const sdkVersion = require("@growthbook/growthbook/package.json").version;

const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
const { payload, features, ids } = input;

const results = ids.map((id) => {
  const gb = new GrowthBook({ attributes: { id }, features: payload.features });
  const row = features.map((key) => {
    const r = gb.evalFeature(key).experimentResult;
    return r ? [r.variationId, r.inExperiment, r.bucket ?? null] : null;
  });
  gb.destroy();
  return row;
});

process.stdout.write(JSON.stringify({ sdkVersion, results }));
