# Toolchain for the Cortex-M0/M0+ target build (ARMv6-M, Thumb).
# Used for the portable libraries, the footprint image and the target tests
# that run under qemu-system-arm -M microbit (nRF51, Cortex-M0).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_SIZE arm-none-eabi-size)
# -DVIGIL_LTO=ON: link-time optimisation, as bench/footprint links the whole
# image (the archives then hold GIMPLE: gcc's ar/nm/ranlib wrappers read it).
if(VIGIL_LTO)
  set(CMAKE_AR arm-none-eabi-gcc-ar)
  set(CMAKE_RANLIB arm-none-eabi-gcc-ranlib)
  set(CMAKE_NM arm-none-eabi-gcc-nm)
  set(VIGIL_LTO_FLAG " -flto")
else()
  set(CMAKE_AR arm-none-eabi-ar)
  set(CMAKE_RANLIB arm-none-eabi-ranlib)
  set(CMAKE_NM arm-none-eabi-nm)
  set(VIGIL_LTO_FLAG "")
endif()
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(CMAKE_C_FLAGS_INIT "-mcpu=cortex-m0plus -mthumb -ffunction-sections -fdata-sections${VIGIL_LTO_FLAG}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,--gc-sections")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
