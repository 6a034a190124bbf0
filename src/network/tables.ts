/** Sites and zones. Conduits and asset placement join when the network model lands. */
export type NetworkTables = {
  site: { id: string; name: string; description: string; created_at: string };
  zone: {
    id: string;
    site_id: string;
    name: string;
    description: string;
    /** JSON array of 7 integers 0-4: the target security level per foundational requirement (FR1..FR7). */
    sl_target: string;
    created_at: string;
    updated_at: string;
  };
};
