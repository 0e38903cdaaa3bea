namespace OstreeContainer.RepoWebserver.ObjectMapApi;

/// <summary>
/// The OpenAPI 3.0 description of the object-map API, served at
/// <c>/object-map/openapi.json</c>. Written by hand (the API is small and fixed) so the
/// NativeAOT server needs no runtime document generator; a test checks that every path
/// listed here answers.
/// </summary>
internal static class ObjectMapOpenApi
{
    public const string Document = """
    {
      "openapi": "3.0.3",
      "info": {
        "title": "ostree-container object map",
        "version": "1",
        "description": "Path and checksum lookups in the commit(s) an image holds. 'commit' parameters take a checksum or a ref recorded in the map; the default is the newest commit."
      },
      "paths": {
        "/object-map/commits": {
          "get": {
            "summary": "Commits in the map, newest first",
            "responses": { "200": { "description": "Commit list", "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/Commit" } } } } } }
          }
        },
        "/object-map/paths/{path}": {
          "get": {
            "summary": "The entry at an absolute path (without the leading slash in the URL)",
            "parameters": [
              { "name": "path", "in": "path", "required": true, "schema": { "type": "string" }, "example": "usr/bin/bash" },
              { "$ref": "#/components/parameters/commit" }
            ],
            "responses": {
              "200": { "description": "The entry", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Entry" } } } },
              "404": { "$ref": "#/components/responses/Error" }
            }
          }
        },
        "/object-map/ls/{path}": {
          "get": {
            "summary": "The entries of a directory",
            "parameters": [
              { "name": "path", "in": "path", "required": true, "schema": { "type": "string" }, "example": "usr/bin" },
              { "$ref": "#/components/parameters/commit" }
            ],
            "responses": {
              "200": { "description": "Entries", "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/Entry" } } } } },
              "404": { "$ref": "#/components/responses/Error" }
            }
          }
        },
        "/object-map/checksums/{checksum}": {
          "get": {
            "summary": "Every (commit, path) using a content object or dirtree",
            "parameters": [ { "name": "checksum", "in": "path", "required": true, "schema": { "type": "string", "pattern": "^[0-9a-f]{64}$" } } ],
            "responses": {
              "200": { "description": "Uses", "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/CommitPath" } } } } },
              "400": { "$ref": "#/components/responses/Error" },
              "404": { "$ref": "#/components/responses/Error" }
            }
          }
        },
        "/object-map/diff": {
          "get": {
            "summary": "Paths added, removed and changed between two commits in the map",
            "parameters": [
              { "name": "from", "in": "query", "required": true, "schema": { "type": "string" } },
              { "name": "to", "in": "query", "required": true, "schema": { "type": "string" } }
            ],
            "responses": {
              "200": { "description": "Difference", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Diff" } } } },
              "400": { "$ref": "#/components/responses/Error" },
              "404": { "$ref": "#/components/responses/Error" }
            }
          }
        }
      },
      "components": {
        "parameters": {
          "commit": { "name": "commit", "in": "query", "required": false, "schema": { "type": "string" }, "description": "Commit checksum or ref; default the newest commit" }
        },
        "responses": {
          "Error": { "description": "Error", "content": { "application/json": { "schema": { "type": "object", "properties": { "error": { "type": "string" } } } } } }
        },
        "schemas": {
          "Entry": {
            "type": "object",
            "properties": {
              "commit": { "type": "string" }, "path": { "type": "string" },
              "type": { "type": "string", "enum": ["file", "symlink", "dir"] },
              "checksum": { "type": "string", "description": "content object (file, symlink) or dirtree (dir)" },
              "dirMeta": { "type": "string", "nullable": true },
              "mode": { "type": "integer" }, "uid": { "type": "integer" }, "gid": { "type": "integer" },
              "size": { "type": "integer" }, "symlinkTarget": { "type": "string", "nullable": true },
              "xattrs": { "type": "array", "items": { "type": "object", "properties": { "name": { "type": "string" }, "value": { "type": "string", "format": "byte" } } } }
            }
          },
          "Commit": {
            "type": "object",
            "properties": {
              "checksum": { "type": "string" }, "refs": { "type": "array", "items": { "type": "string" } },
              "subject": { "type": "string" }, "body": { "type": "string" }, "timestamp": { "type": "string", "format": "date-time" },
              "version": { "type": "string", "nullable": true }, "parent": { "type": "string", "nullable": true },
              "rootDirTree": { "type": "string" }, "rootDirMeta": { "type": "string" }, "metadata": { "type": "object" }
            }
          },
          "CommitPath": { "type": "object", "properties": { "commit": { "type": "string" }, "path": { "type": "string" } } },
          "Diff": {
            "type": "object",
            "properties": {
              "from": { "type": "string" }, "to": { "type": "string" },
              "added": { "type": "array", "items": { "type": "string" } },
              "removed": { "type": "array", "items": { "type": "string" } },
              "changed": { "type": "array", "items": { "type": "string" } }
            }
          }
        }
      }
    }
    """;
}
