/**
 * @module A real S3-protocol server for tests: npm:s3rver on 127.0.0.1 over a
 * temporary directory, with one bucket, and the `S3_*` environment pointing at it.
 */
import S3rver from "s3rver";

/** A running s3rver; disposing stops it and removes its files. */
export interface S3Server extends AsyncDisposable {
  /** The `S3_*` variables that make the app store uploads there. */
  env: Record<string, string>;
  endpoint: string;
  bucket: string;
  /** The object keys stored in the bucket now. */
  objectKeys(): Promise<string[]>;
}

/** Starts s3rver on a free port of 127.0.0.1 with the bucket `uploads`. */
export async function startS3Server(): Promise<S3Server> {
  const directory = await Deno.makeTempDir({ prefix: "durable-chat-s3-" });
  const bucket = "uploads";
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket, configs: [CORS] }],
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    env: {
      S3_ENDPOINT: endpoint,
      S3_BUCKET: bucket,
      S3_REGION: "us-east-1",
      S3_ACCESS_KEY_ID: "S3RVER",
      S3_SECRET_ACCESS_KEY: "S3RVER",
      S3_FORCE_PATH_STYLE: "1",
    },
    async objectKeys() {
      const found: string[] = [];
      const walk = async (dir: string, prefix: string) => {
        for await (const entry of Deno.readDir(dir)) {
          if (entry.isDirectory) await walk(`${dir}/${entry.name}`, `${prefix}${entry.name}/`);
          else if (entry.name.endsWith("._S3rver_object")) {
            found.push(prefix + entry.name.slice(0, -"._S3rver_object".length));
          }
        }
      };
      await walk(`${directory}/${bucket}`, "");
      return found;
    },
    async [Symbol.asyncDispose]() {
      await server.close();
      await Deno.remove(directory, { recursive: true });
    },
  };
}

/** Lets a browser on any origin PUT to presigned URLs (the Chromium test). */
const CORS = `<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>*</AllowedOrigin>
    <AllowedMethod>PUT</AllowedMethod>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
  </CORSRule>
</CORSConfiguration>`;
