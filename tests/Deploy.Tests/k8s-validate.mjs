// Validates Kubernetes objects offline against the API's OpenAPI schemas, as compiled
// into the npm package kubernetes-models. Reads multi-document YAML (kustomize build
// output) on stdin and prints one JSON array: [{ "object": {...}, "error": null | "..." }].
// Exits 1 when any object is invalid or of a kind the models do not know, 2 on bad input.
//
// kubernetes-models checks types, formats and required fields; it does not reject
// unknown fields (its schemas allow additional properties), so the tests check the
// fields that matter by name as well.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const text = readFileSync(0, "utf8");
const documents = parseAllDocuments(text);
const results = [];
let failed = false;

for (const document of documents) {
  if (document.errors.length > 0) {
    console.error(`YAML error: ${document.errors[0].message}`);
    process.exit(2);
  }

  const object = document.toJSON();
  if (object === null || object === undefined) {
    continue;
  }

  let error = null;
  try {
    const { apiVersion, kind } = object;
    if (typeof apiVersion !== "string" || typeof kind !== "string") {
      throw new Error("apiVersion and kind are required");
    }

    // "v1" is the core group (kubernetes-models/v1/Service); "apps/v1" -> kubernetes-models/apps/v1/Deployment.
    const module = await import(`kubernetes-models/${apiVersion}/${kind}`).catch(() => null);
    const Model = module?.[kind];
    if (Model === undefined) {
      throw new Error(`no schema for ${apiVersion} ${kind}`);
    }

    new Model(object).validate();
  } catch (e) {
    error = e.message;
    failed = true;
  }

  results.push({ object, error });
}

process.stdout.write(JSON.stringify(results));
process.exit(failed ? 1 : 0);
