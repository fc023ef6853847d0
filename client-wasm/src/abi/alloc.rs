//! The wasm core's global allocator: power-of-two size classes, one free list each, and
//! fresh blocks taken from `memory.grow`. About 300 bytes of code where a general
//! allocator costs kilobytes; freed blocks are reused for the same class, so a steady
//! stream of calls runs in constant memory (the peak of each class).

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::ptr::null_mut;

const PAGE: usize = 65_536;
/// The smallest block (16 bytes): room for the free-list link. Blocks are laid end to end
/// from a page boundary and every size is a multiple of it, so every block is aligned to
/// 16, enough for everything the core allocates (larger alignments are refused).
const MIN_CLASS: usize = 4;

struct Heap {
    /// Head of each class's free list (0 = empty); a free block's first word links on.
    free: [usize; 32],
    /// The unused end of the last grown region.
    next: usize,
    end: usize,
}

struct SizeClasses(UnsafeCell<Heap>);

// SAFETY: wasm32 without atomics runs one thread.
unsafe impl Sync for SizeClasses {}

#[global_allocator]
static HEAP: SizeClasses = SizeClasses(UnsafeCell::new(Heap {
    free: [0; 32],
    next: 0,
    end: 0,
}));

unsafe impl GlobalAlloc for SizeClasses {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: one thread, and no allocation calls back into the allocator.
        let heap = unsafe { &mut *self.0.get() };
        let class = class_of(layout.size().max(layout.align()));
        // Every block is a multiple of the smallest, so every address is aligned to it.
        if class >= 32 || layout.align() > 1 << MIN_CLASS {
            return null_mut();
        }
        let head = heap.free[class];
        if head != 0 {
            // SAFETY: `head` is a block of this class that `dealloc` linked.
            heap.free[class] = unsafe { *(head as *const usize) };
            return head as *mut u8;
        }
        if heap.end == 0 {
            // The first block: the heap starts at the top of memory, page-aligned.
            heap.next = core::arch::wasm32::memory_size(0) * PAGE;
            heap.end = heap.next;
        }
        let start = heap.next;
        let Some(stop) = start.checked_add(1 << class) else {
            return null_mut();
        };
        if stop > heap.end {
            let pages = (stop - heap.end).div_ceil(PAGE);
            if core::arch::wasm32::memory_grow(0, pages) == usize::MAX {
                return null_mut();
            }
            heap.end += pages * PAGE;
        }
        heap.next = stop;
        start as *mut u8
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as in `alloc`; `ptr` is a block `alloc` handed out for `layout`.
        unsafe { free(ptr, layout.size().max(layout.align())) }
    }
}

/// Links a block of `size` bytes' class into its free list: one function rather than
/// inlined at every `Vec` drop.
///
/// # Safety
///
/// `ptr` is a block `alloc` handed out for a layout of this size, not used afterwards.
#[inline(never)]
unsafe fn free(ptr: *mut u8, size: usize) {
    // SAFETY: as in `alloc`.
    let heap = unsafe { &mut *HEAP.0.get() };
    let class = class_of(size);
    // `alloc` handed out no block of a class past the table.
    if let Some(head) = heap.free.get_mut(class) {
        // SAFETY: `ptr` is a block of this class, at least a word long and aligned.
        unsafe { *(ptr as *mut usize) = *head };
        *head = ptr as usize;
    }
}

/// The class of a block of `size` bytes: the power of two that holds it, at least
/// `MIN_CLASS`.
fn class_of(size: usize) -> usize {
    ((usize::BITS - size.saturating_sub(1).leading_zeros()) as usize).max(MIN_CLASS)
}
