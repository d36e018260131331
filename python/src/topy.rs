//! Library values to Python objects through their serde form, for large batches.
//!
//! The output is what `json.loads` gives for the value's serde JSON (as `pythonize` makes
//! it), but made for batches of 100,000 assessments: a result holds mostly the same few
//! strings (field names, statuses, cities, check texts), so each distinct string becomes one
//! Python object shared by every result instead of one object per occurrence. That and
//! pausing the cyclic garbage collector while millions of dicts are made (each generation-0
//! pass would walk them) keep the conversion well below the time the rules take.

use std::collections::HashMap;
use std::fmt;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString};
use pyo3::BoundObject;
use serde::ser::{self, Serialize};

/// Strings made so far: each becomes one shared Python object.
pub struct Strings<'py> {
    py: Python<'py>,
    /// Field and variant names (`&'static str`), by address: no hashing of their text.
    names: HashMap<(usize, usize), Bound<'py, PyString>, ahash::RandomState>,
    /// Any other text, by content.
    made: HashMap<String, Bound<'py, PyString>, ahash::RandomState>,
}

/// Strings with more distinct values than this stop being remembered (ids, free text).
const MAX_REMEMBERED: usize = 200_000;

impl<'py> Strings<'py> {
    pub fn new(py: Python<'py>) -> Strings<'py> {
        // A fast hash: these are the caller's own strings, no adversary to resist.
        let hasher = ahash::RandomState::with_seeds(0x1d3a, 0x2b5c, 0x3e7f, 0x4a91);
        Strings {
            py,
            names: HashMap::with_hasher(hasher.clone()),
            made: HashMap::with_hasher(hasher),
        }
    }

    fn name(&mut self, s: &'static str) -> Bound<'py, PyString> {
        let py = self.py;
        self.names
            .entry((s.as_ptr() as usize, s.len()))
            .or_insert_with(|| PyString::new(py, s))
            .clone()
    }

    fn get(&mut self, s: &str) -> Bound<'py, PyString> {
        if let Some(o) = self.made.get(s) {
            return o.clone();
        }
        let o = PyString::new(self.py, s);
        if self.made.len() < MAX_REMEMBERED {
            self.made.insert(s.to_string(), o.clone());
        }
        o
    }

    /// `value` as Python objects.
    pub fn convert<T: Serialize + ?Sized>(&mut self, value: &T) -> PyResult<Bound<'py, PyAny>> {
        value.serialize(ToPy(self)).map_err(|e| e.0)
    }

    /// The fields of `value` (a struct or map) as Python objects, each given to `each` with
    /// its name, without making the dict that would hold them.
    pub fn convert_fields<T, F>(&mut self, value: &T, each: F) -> PyResult<()>
    where
        T: Serialize + ?Sized,
        F: FnMut(Bound<'py, PyAny>, Bound<'py, PyAny>),
    {
        value
            .serialize(Fields {
                strings: self,
                each,
                key: None,
            })
            .map_err(|e| e.0)
    }
}

/// Pauses Python's cyclic garbage collector until dropped (if it was running): the objects
/// made are acyclic trees, and collecting while making millions of them costs more than
/// making them.
pub struct GcPause<'py> {
    gc: Option<Bound<'py, PyModule>>,
}

impl<'py> GcPause<'py> {
    pub fn new(py: Python<'py>) -> GcPause<'py> {
        let gc = py.import("gc").ok().filter(|gc| {
            gc.call_method0("isenabled")
                .and_then(|b| b.is_truthy())
                .unwrap_or(false)
                && gc.call_method0("disable").is_ok()
        });
        GcPause { gc }
    }
}

impl Drop for GcPause<'_> {
    fn drop(&mut self) {
        if let Some(gc) = &self.gc {
            let _ = gc.call_method0("enable");
        }
    }
}

/// A Python error, as serde needs it.
#[derive(Debug)]
pub struct Error(PyErr);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(PyValueError::new_err(msg.to_string()))
    }
}

impl From<PyErr> for Error {
    fn from(e: PyErr) -> Self {
        Error(e)
    }
}

type Result<T> = std::result::Result<T, Error>;

struct ToPy<'s, 'py>(&'s mut Strings<'py>);

impl<'s, 'py> ToPy<'s, 'py> {
    fn py(&self) -> Python<'py> {
        self.0.py
    }

    fn int<T>(self, v: T) -> Result<Bound<'py, PyAny>>
    where
        T: IntoPyObject<'py, Target = PyInt, Error = std::convert::Infallible>,
    {
        let Ok(int) = v.into_pyobject(self.py());
        Ok(int.into_any().into_bound())
    }

    /// `{variant: value}`, serde's external tagging.
    fn tagged(self, variant: &'static str, value: Bound<'py, PyAny>) -> Result<Bound<'py, PyAny>> {
        let dict = PyDict::new(self.py());
        dict.set_item(self.0.name(variant), value)?;
        Ok(dict.into_any())
    }
}

impl<'s, 'py> ser::Serializer for ToPy<'s, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    type SerializeSeq = Seq<'s, 'py>;
    type SerializeTuple = Seq<'s, 'py>;
    type SerializeTupleStruct = Seq<'s, 'py>;
    type SerializeTupleVariant = Seq<'s, 'py>;
    type SerializeMap = Map<'s, 'py>;
    type SerializeStruct = Map<'s, 'py>;
    type SerializeStructVariant = Map<'s, 'py>;

    fn serialize_bool(self, v: bool) -> Result<Self::Ok> {
        Ok(PyBool::new(self.py(), v).to_owned().into_any())
    }
    fn serialize_i8(self, v: i8) -> Result<Self::Ok> {
        self.int(v)
    }
    fn serialize_i16(self, v: i16) -> Result<Self::Ok> {
        self.int(v)
    }
    fn serialize_i32(self, v: i32) -> Result<Self::Ok> {
        self.int(v)
    }
    fn serialize_i64(self, v: i64) -> Result<Self::Ok> {
        self.int(v)
    }
    fn serialize_i128(self, v: i128) -> Result<Self::Ok> {
        self.int(v)
    }
    fn serialize_u8(self, v: u8) -> Result<Self::Ok> {
        self.int(v)
    }
    fn serialize_u16(self, v: u16) -> Result<Self::Ok> {
        self.int(v)
    }
    fn serialize_u32(self, v: u32) -> Result<Self::Ok> {
        self.int(v)
    }
    fn serialize_u64(self, v: u64) -> Result<Self::Ok> {
        self.int(v)
    }
    fn serialize_u128(self, v: u128) -> Result<Self::Ok> {
        self.int(v)
    }
    fn serialize_f32(self, v: f32) -> Result<Self::Ok> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Self::Ok> {
        // JSON has no NaN or infinity: serde_json writes them as null.
        if v.is_finite() {
            Ok(PyFloat::new(self.py(), v).into_any())
        } else {
            self.serialize_unit()
        }
    }
    fn serialize_char(self, v: char) -> Result<Self::Ok> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<Self::Ok> {
        Ok(self.0.get(v).into_any())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Self::Ok> {
        use ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for b in v {
            seq.serialize_element(b)?;
        }
        seq.end()
    }
    fn serialize_none(self) -> Result<Self::Ok> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Self::Ok> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Self::Ok> {
        Ok(self.py().None().into_bound(self.py()))
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Self::Ok> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Self::Ok> {
        Ok(self.0.name(variant).into_any())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Self::Ok> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Self::Ok> {
        let inner = value.serialize(ToPy(&mut *self.0))?;
        self.tagged(variant, inner)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq> {
        Ok(Seq {
            strings: self.0,
            items: Vec::with_capacity(len.unwrap_or(0)),
            variant: None,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        let mut seq = self.serialize_seq(Some(len))?;
        seq.variant = Some(variant);
        Ok(seq)
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap> {
        Ok(Map {
            dict: PyDict::new(self.py()),
            strings: self.0,
            key: None,
            variant: None,
        })
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Self::SerializeStruct> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant> {
        let mut map = self.serialize_map(Some(len))?;
        map.variant = Some(variant);
        Ok(map)
    }
}

/// A list being made (a tuple variant's list is wrapped as `{variant: [...]}`).
pub struct Seq<'s, 'py> {
    strings: &'s mut Strings<'py>,
    items: Vec<Bound<'py, PyAny>>,
    variant: Option<&'static str>,
}

impl<'s, 'py> Seq<'s, 'py> {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let item = value.serialize(ToPy(&mut *self.strings))?;
        self.items.push(item);
        Ok(())
    }

    fn finish(self) -> Result<Bound<'py, PyAny>> {
        let list = PyList::new(self.strings.py, self.items)?.into_any();
        match self.variant {
            Some(v) => ToPy(self.strings).tagged(v, list),
            None => Ok(list),
        }
    }
}

impl<'py> ser::SerializeSeq for Seq<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Self::Ok> {
        self.finish()
    }
}

impl<'py> ser::SerializeTuple for Seq<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Self::Ok> {
        self.finish()
    }
}

impl<'py> ser::SerializeTupleStruct for Seq<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Self::Ok> {
        self.finish()
    }
}

impl<'py> ser::SerializeTupleVariant for Seq<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Self::Ok> {
        self.finish()
    }
}

/// A dict being made (a struct variant's dict is wrapped as `{variant: {...}}`).
pub struct Map<'s, 'py> {
    dict: Bound<'py, PyDict>,
    strings: &'s mut Strings<'py>,
    key: Option<Bound<'py, PyAny>>,
    variant: Option<&'static str>,
}

impl<'s, 'py> Map<'s, 'py> {
    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<()> {
        let value = value.serialize(ToPy(&mut *self.strings))?;
        self.dict.set_item(self.strings.name(key), value)?;
        Ok(())
    }

    fn finish(self) -> Result<Bound<'py, PyAny>> {
        let dict = self.dict.into_any();
        match self.variant {
            Some(v) => ToPy(self.strings).tagged(v, dict),
            None => Ok(dict),
        }
    }
}

impl<'py> ser::SerializeMap for Map<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<()> {
        self.key = Some(key.serialize(ToPy(&mut *self.strings))?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let key = self
            .key
            .take()
            .ok_or_else(|| <Error as ser::Error>::custom("a map value without its key"))?;
        let value = value.serialize(ToPy(&mut *self.strings))?;
        self.dict.set_item(key, value)?;
        Ok(())
    }
    fn end(self) -> Result<Self::Ok> {
        self.finish()
    }
}

impl<'py> ser::SerializeStruct for Map<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        self.field(key, value)
    }
    fn end(self) -> Result<Self::Ok> {
        self.finish()
    }
}

impl<'py> ser::SerializeStructVariant for Map<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        self.field(key, value)
    }
    fn end(self) -> Result<Self::Ok> {
        self.finish()
    }
}

/// The serializer of [`Strings::convert_fields`]: a struct or map at the top, its fields
/// handed over one by one.
struct Fields<'s, 'py, F> {
    strings: &'s mut Strings<'py>,
    each: F,
    key: Option<Bound<'py, PyAny>>,
}

fn not_fields() -> Error {
    <Error as ser::Error>::custom("expected a value with fields (a struct or a map)")
}

/// The `Serializer` methods of a value that has no fields.
macro_rules! no_fields {
    ($($method:ident($($arg:ty),*) -> $ret:ty;)*) => {
        $(fn $method(self, $(_: $arg),*) -> Result<$ret> {
            Err(not_fields())
        })*
    };
}

impl<'s, 'py, F> ser::Serializer for Fields<'s, 'py, F>
where
    F: FnMut(Bound<'py, PyAny>, Bound<'py, PyAny>),
{
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    no_fields! {
        serialize_bool(bool) -> ();
        serialize_i8(i8) -> ();
        serialize_i16(i16) -> ();
        serialize_i32(i32) -> ();
        serialize_i64(i64) -> ();
        serialize_u8(u8) -> ();
        serialize_u16(u16) -> ();
        serialize_u32(u32) -> ();
        serialize_u64(u64) -> ();
        serialize_f32(f32) -> ();
        serialize_f64(f64) -> ();
        serialize_char(char) -> ();
        serialize_str(&str) -> ();
        serialize_bytes(&[u8]) -> ();
        serialize_none() -> ();
        serialize_unit() -> ();
        serialize_unit_struct(&'static str) -> ();
        serialize_unit_variant(&'static str, u32, &'static str) -> ();
        serialize_seq(Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<()> {
        value.serialize(self)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<()> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<()> {
        Err(not_fields())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self> {
        Ok(self)
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self> {
        Ok(self)
    }
}

impl<'py, F> ser::SerializeMap for Fields<'_, 'py, F>
where
    F: FnMut(Bound<'py, PyAny>, Bound<'py, PyAny>),
{
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<()> {
        self.key = Some(key.serialize(ToPy(&mut *self.strings))?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let key = self
            .key
            .take()
            .ok_or_else(|| <Error as ser::Error>::custom("a map value without its key"))?;
        let value = value.serialize(ToPy(&mut *self.strings))?;
        (self.each)(key, value);
        Ok(())
    }
    fn end(self) -> Result<()> {
        Ok(())
    }
}

impl<'py, F> ser::SerializeStruct for Fields<'_, 'py, F>
where
    F: FnMut(Bound<'py, PyAny>, Bound<'py, PyAny>),
{
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        let value = value.serialize(ToPy(&mut *self.strings))?;
        (self.each)(self.strings.name(key).into_any(), value);
        Ok(())
    }
    fn end(self) -> Result<()> {
        Ok(())
    }
}
