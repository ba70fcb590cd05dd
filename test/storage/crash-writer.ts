// Child process of the crash-durability test: creates keys one by one and prints each key once its
// create has been acknowledged, until the parent kills it (or, as a bound, after 60 s / 200,000 keys).
import { openSqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';

const storage = openSqliteStorage({ path: process.argv[2], compactIntervalMs: 0 });
const value = Buffer.alloc(2048, 'v');
const deadline = Date.now() + 60_000;
for (let i = 0; i < 200_000 && Date.now() < deadline; i++) {
  const key = `/crash/${String(i).padStart(6, '0')}`;
  await storage.create(key, value);
  process.stdout.write(`${key}\n`);
}
await storage.close();
