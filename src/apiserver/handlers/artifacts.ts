// The /artifact subresource: streams the artifact named by `status.artifact` from the artifact
// store, with ETag, 304 and Range. A source without an artifact yet is a 404 Status.

import type { Request, Response } from 'express';
import type { KubeObject } from '../../apis/meta/types.js';
import { serveArtifact } from '../../artifacts/http.js';
import { isOwnArtifact, type ArtifactStore } from '../../artifacts/store.js';
import type { ResourceStore } from '../../registry/store.js';
import { StatusError } from '../../apis/meta/errors.js';
import type { ArtifactServer } from './resources.js';

const noArtifact = (store: ResourceStore, obj: KubeObject, why: string) =>
  new StatusError(404, 'NotFound', `${store.def.plural}.${store.ref.group} "${obj.metadata.name}" ${why}`, {
    name: obj.metadata.name,
    group: store.ref.group,
    kind: store.def.plural,
  });

export function artifactServer(artifacts: ArtifactStore): ArtifactServer {
  return {
    async serve(req: Request, res: Response, store: ResourceStore, obj: KubeObject): Promise<void> {
      const a = obj.status?.artifact as { path?: string; digest?: string; size?: number } | undefined;
      if (!a?.path || !a.digest) throw noArtifact(store, obj, 'has no artifact yet');
      const owner = { kind: store.def.kind, namespace: obj.metadata.namespace!, name: obj.metadata.name! };
      if (!isOwnArtifact(owner, a.path, a.digest)) throw noArtifact(store, obj, 'has a status.artifact that does not name its own stored artifact');
      let file: { file: string; size: number };
      try {
        file = await artifacts.open(a.path);
      } catch {
        throw noArtifact(store, obj, 'has an artifact that is not in storage (it is being rebuilt)');
      }
      await serveArtifact(req, res, file.file, { digest: a.digest, size: file.size });
    },
  };
}
