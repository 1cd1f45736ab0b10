package stock_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/apps/inventory/stock"
	"orderflow/internal/events"
)

func TestCheckInvariants(t *testing.T) {
	t.Parallel()
	reservation := func(orderID string, status stock.Status, qty int) stock.Reservation {
		return stock.Reservation{OrderID: orderID, Status: status, Lines: []events.PricedLine{{SKU: "MUG", Quantity: qty}}}
	}
	mug := func(available, reserved, committed int, holds map[string]int) stock.Product {
		p := stock.Product{SKU: "MUG", Available: available, Reserved: reserved, Committed: committed, Holds: map[string]stock.Hold{}}
		for id, q := range holds {
			p.Holds[id] = stock.Hold{Quantity: q}
		}
		return p
	}
	settled := []stock.Reservation{
		reservation("held", stock.Reserved, 2), reservation("expiring", stock.Expiring, 1),
		reservation("shipped", stock.Committed, 3), reservation("released", stock.Released, 4),
		{OrderID: "rejected", Status: stock.Rejected},
	}
	tests := []struct {
		name    string
		product stock.Product
		want    string // "" when the invariants hold
	}{
		{"holds follow open reservations, committed follows shipped ones",
			mug(4, 3, 3, map[string]int{"held": 2, "expiring": 1}), ""},
		{"reserved but holding nothing",
			mug(6, 1, 3, map[string]int{"expiring": 1}), "order held is reserved but holds nothing"},
		{"a hold without an open reservation",
			mug(0, 7, 3, map[string]int{"held": 2, "expiring": 1, "released": 4}), "order released holds 4 without an open reservation"},
		{"a hold of another quantity",
			mug(3, 4, 3, map[string]int{"held": 3, "expiring": 1}), "order held holds 3, its reservation 2"},
		{"reserved is not the sum of the holds",
			mug(4, 2, 3, map[string]int{"held": 2, "expiring": 1}), "reserved 2 but the holds add up to 3"},
		{"committed is not what shipped",
			mug(3, 3, 4, map[string]int{"held": 2, "expiring": 1}), "committed 4 but shipped reservations add up to 3"},
		{"negative stock",
			mug(-1, 3, 3, map[string]int{"held": 2, "expiring": 1}), "negative stock"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := stock.CheckInvariants([]stock.Product{tc.product}, settled)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
