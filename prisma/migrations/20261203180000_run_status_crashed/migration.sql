-- An HTTP-tracked run whose script stopped heartbeating for the stale interval ends `crashed`.
ALTER TYPE "RunStatus" ADD VALUE IF NOT EXISTS 'crashed';
