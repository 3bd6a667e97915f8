package sessions

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"
)

// decodeValue sets dst from the encoded value src.
func decodeValue(dst reflect.Value, src any) error {
	wrong := func() error {
		return fmt.Errorf("%w: cannot read %s into %s", ErrWrongType, describe(src), dst.Type())
	}
	if src == nil {
		dst.SetZero()
		return nil
	}
	switch dst.Kind() {
	case reflect.Interface:
		s := reflect.ValueOf(src)
		if !s.Type().AssignableTo(dst.Type()) {
			return wrong()
		}
		dst.Set(s)
		return nil
	case reflect.Pointer:
		p := reflect.New(dst.Type().Elem())
		if err := decodeValue(p.Elem(), src); err != nil {
			return err
		}
		dst.Set(p)
		return nil
	case reflect.String:
		s, ok := src.(string)
		if !ok {
			return wrong()
		}
		dst.SetString(s)
	case reflect.Bool:
		b, ok := src.(bool)
		if !ok {
			return wrong()
		}
		dst.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, ok := src.(int64)
		if !ok || dst.OverflowInt(i) {
			return wrong()
		}
		dst.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		i, ok := src.(int64)
		if !ok || i < 0 || dst.OverflowUint(uint64(i)) {
			return wrong()
		}
		dst.SetUint(uint64(i))
	case reflect.Float32, reflect.Float64:
		switch f := src.(type) {
		case float64:
			if dst.Kind() == reflect.Float32 && !math.IsInf(f, 0) && !math.IsNaN(f) && dst.OverflowFloat(f) {
				return wrong()
			}
			dst.SetFloat(f)
		case int64:
			dst.SetFloat(float64(f))
		default:
			return wrong()
		}
	case reflect.Slice:
		if dst.Type().Elem().Kind() == reflect.Uint8 {
			b, ok := src.([]byte)
			if !ok {
				return wrong()
			}
			s := reflect.MakeSlice(dst.Type(), len(b), len(b))
			reflect.Copy(s, reflect.ValueOf(b))
			dst.Set(s)
			return nil
		}
		a, ok := src.([]any)
		if !ok {
			return wrong()
		}
		s := reflect.MakeSlice(dst.Type(), len(a), len(a))
		for i, x := range a {
			if err := decodeValue(s.Index(i), x); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
		dst.Set(s)
	case reflect.Array:
		var elems []any
		switch a := src.(type) {
		case []any:
			elems = a
		case []byte:
			if dst.Type().Elem().Kind() != reflect.Uint8 {
				return wrong()
			}
			for _, b := range a {
				elems = append(elems, int64(b))
			}
		default:
			return wrong()
		}
		if len(elems) > dst.Len() {
			return fmt.Errorf("%w: cannot read %d elements into %s", ErrWrongType, len(elems), dst.Type())
		}
		dst.SetZero()
		for i, x := range elems {
			if err := decodeValue(dst.Index(i), x); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
	case reflect.Map:
		m, ok := src.(map[string]any)
		if !ok || dst.Type().Key().Kind() != reflect.String {
			return wrong()
		}
		out := reflect.MakeMapWithSize(dst.Type(), len(m))
		for k, x := range m {
			e := reflect.New(dst.Type().Elem()).Elem()
			if err := decodeValue(e, x); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			out.SetMapIndex(reflect.ValueOf(k).Convert(dst.Type().Key()), e)
		}
		dst.Set(out)
	case reflect.Struct:
		if dst.Type() == timeType {
			t, ok := src.(time.Time)
			if !ok {
				return wrong()
			}
			dst.Set(reflect.ValueOf(t.UTC()))
			return nil
		}
		m, ok := src.(map[string]any)
		if !ok {
			return wrong()
		}
		dst.SetZero()
		for _, f := range structFields(dst.Type()) {
			x, ok := m[f.name]
			if !ok {
				for k, y := range m {
					if strings.EqualFold(k, f.name) {
						x, ok = y, true
						break
					}
				}
			}
			if !ok {
				continue
			}
			if err := decodeValue(dst.FieldByIndex(f.index), x); err != nil {
				return fmt.Errorf("%s: %w", f.name, err)
			}
		}
	default:
		return wrong()
	}
	return nil
}

// describe names the stored type of an encoded value, for errors.
func describe(v any) string {
	switch v.(type) {
	case []any:
		return "an array"
	case map[string]any:
		return "a map"
	case []byte:
		return "bytes"
	case time.Time:
		return "a time"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}
