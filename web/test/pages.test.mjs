// allPages (lib/api.js): follows a listing's pages by next_offset until "more" is
// false, or stops once `max` rows are in and says more remain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allPages } from '../app/lib/api.js';

/** A listing of n rows served in pages of `size`, as meanwhiled answers it. */
function listing(n, size) {
  const asked = [];
  const page = async (offset) => {
    asked.push(offset);
    const rows = Array.from({ length: Math.max(0, Math.min(size, n - offset)) }, (_, i) => ({ name: `s${offset + i}` }));
    const more = offset + rows.length < n;
    return more ? { services: rows, more, next_offset: offset + rows.length } : { services: rows, more };
  };
  return { page, asked };
}

test('every page, in order', async () => {
  const l = listing(2500, 1000);
  const { rows, more } = await allPages(l.page, 'services');
  assert.equal(rows.length, 2500);
  assert.equal(rows[2499].name, 's2499');
  assert.equal(more, false);
  assert.deepEqual(l.asked, [0, 1000, 2000]);
});

test('stops at max and says more remain', async () => {
  const l = listing(5000, 1000);
  const { rows, more } = await allPages(l.page, 'services', 2000);
  assert.equal(rows.length, 2000);
  assert.equal(more, true);
  assert.deepEqual(l.asked, [0, 1000]);
});

test('one empty page', async () => {
  const { rows, more } = await allPages(listing(0, 1000).page, 'services');
  assert.deepEqual(rows, []);
  assert.equal(more, false);
});
