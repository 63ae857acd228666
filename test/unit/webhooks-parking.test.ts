import { ParkingLot } from '../../src/webhooks/parking';

test('parked deliveries come out per endpoint, oldest first, once each', () => {
  const lot = new ParkingLot();
  expect(lot.park('e1', { deliveryId: 'a', attempt: 1 })).toBe(true);
  expect(lot.park('e2', { deliveryId: 'x', attempt: 1 })).toBe(true);
  expect(lot.park('e1', { deliveryId: 'b', attempt: 2 })).toBe(true);
  // The same delivery again (the sweep handed it over while it was parked) is not parked twice.
  expect(lot.park('e1', { deliveryId: 'a', attempt: 1 })).toBe(true);
  expect([lot.size(), lot.size('e1'), lot.size('e2'), lot.size('e3')]).toEqual([3, 2, 1, 0]);
  expect(lot.next('e1')).toEqual({ deliveryId: 'a', attempt: 1 });
  expect(lot.next('e1')).toEqual({ deliveryId: 'b', attempt: 2 });
  expect(lot.next('e1')).toBeUndefined();
  expect(lot.drain()).toEqual([{ deliveryId: 'x', attempt: 1 }]);
  expect(lot.size()).toBe(0);
});

test('a full lot refuses (the caller queues the delivery instead); a later attempt of a parked delivery replaces it', () => {
  const lot = new ParkingLot(2);
  expect(lot.park('e1', { deliveryId: 'a', attempt: 1 })).toBe(true);
  expect(lot.park('e1', { deliveryId: 'b', attempt: 1 })).toBe(true);
  expect(lot.park('e1', { deliveryId: 'c', attempt: 1 })).toBe(false);
  expect(lot.park('e1', { deliveryId: 'a', attempt: 2 })).toBe(true);
  expect(lot.size()).toBe(2);
  expect(lot.next('e1')).toEqual({ deliveryId: 'a', attempt: 2 });
});
