import { createMemoryStore } from "../../../src/log/memory_store.ts";
import { runEventStoreContract } from "./event_store_contract.ts";

runEventStoreContract("MemoryStore", (options) => {
  try {
    const store = createMemoryStore(options);
    return Promise.resolve({ store, cleanup: () => store.close() });
  } catch (error) {
    return Promise.reject(error);
  }
});
